"""The end of the customize stage: drop what must not ship in an image.

Package lists and caches (stale the day after), logs of the build, the build host's
resolv.conf and hostname, the machine identity (each machine gets its own at first boot),
and temporary files.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

from metal_images.builder.rootpath import resolve_in_root
from metal_images.builder.stagekey import StageInputs
from metal_images.errors import ConfigError

# globs (relative to /) whose matches are deleted; directories are kept, only emptied
EMPTIED_DIRS = [
    "var/lib/apt/lists",
    "var/cache/apt/archives",
    "var/log",
    "tmp",
    "var/tmp",
]
DELETED = [
    "var/cache/apt/*.bin",
    "var/cache/debconf/*-old",
    "var/lib/dpkg/*-old",
    "var/lib/dbus/machine-id",
    "var/lib/systemd/random-seed",
    "etc/resolv.conf",
    "etc/hostname",
    "root/.bash_history",
]


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _empty_dir(folder: Path) -> None:
    """Delete every file below `folder`, keep the directories (services expect them)."""
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            (Path(dirpath) / name).unlink(missing_ok=True)
    for dirpath, dirnames, _filenames in os.walk(folder):
        for name in dirnames:
            link = Path(dirpath) / name
            if link.is_symlink():
                link.unlink()


def cleanup(root: Path) -> None:
    for rel in EMPTIED_DIRS:
        folder = resolve_in_root(root, rel)
        if folder.is_dir():
            _empty_dir(folder)
    for pattern in DELETED:
        for match in glob.glob(str(root / pattern)):
            _delete(Path(match))
    machine_id = root / "etc/machine-id"
    if machine_id.exists() or machine_id.is_symlink():
        machine_id.unlink()
    # empty, not missing: systemd then sets up a fresh id at first boot
    machine_id.write_text("")
    machine_id.chmod(0o444)


def remove_globs(root: Path, patterns: list[str], where: str) -> list[str]:
    """Delete the image's `remove:` globs (absolute paths in the image); return what went."""
    removed: list[str] = []
    resolved_root = root.resolve()
    for pattern in patterns:
        if not pattern.startswith("/") or ".." in Path(pattern).parts:
            raise ConfigError(f"{where}: remove: '{pattern}' must be an absolute path without '..'")
        for match in sorted(glob.glob(str(root) + pattern)):
            path = Path(match)
            parent = path.parent.resolve()
            if parent != resolved_root and resolved_root not in parent.parents:
                continue  # a symlinked parent points out of the tree
            _delete(path)
            removed.append("/" + str(path.relative_to(root)))
    return removed


def cleanup_inputs() -> StageInputs:
    return {"emptied": EMPTIED_DIRS, "deleted": DELETED}
