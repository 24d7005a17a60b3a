"""Stage keys: the sha256 of the canonical JSON of everything a stage depends on.

Inputs are plain JSON data (dicts of strings, lists, numbers). `describe_changes` compares
the inputs of the previous build of a stage with the new ones, so a cache miss can say
which input changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

# the builder's modules hash their input files through stagekey: one digest for all of them
from metal_images.files import file_digest as file_digest

StageInputs = dict[str, Any]


def canonical_json(data: StageInputs) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def stage_key(inputs: StageInputs) -> str:
    return hashlib.sha256(canonical_json(inputs).encode()).hexdigest()


def tree_digest(folder: Path) -> dict[str, str]:
    """One entry per file, symlink and directory below `folder`: its kind, mode and content."""
    entries: dict[str, str] = {}
    if not folder.is_dir():
        return entries
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        base = Path(dirpath)
        for name in [*dirnames, *sorted(filenames)]:
            path = base / name
            rel = path.relative_to(folder).as_posix()
            info = path.lstat()
            mode = f"{stat.S_IMODE(info.st_mode):04o}"
            if stat.S_ISLNK(info.st_mode):
                entries[rel] = f"link:{os.readlink(path)}"
            elif stat.S_ISDIR(info.st_mode):
                entries[rel] = f"dir:{mode}"
            elif stat.S_ISREG(info.st_mode):
                entries[rel] = f"file:{mode}:{file_digest(path)}"
            else:
                entries[rel] = f"special:{mode}"
    return entries


def _flatten(data: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(data, dict) and data:
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = json.dumps(data, sort_keys=True)


def describe_changes(old: StageInputs | None, new: StageInputs, limit: int = 5) -> str:
    """A short human line naming the inputs that differ between two builds of a stage."""
    if old is None:
        return "not built before"
    flat_old: dict[str, str] = {}
    flat_new: dict[str, str] = {}
    _flatten(old, "", flat_old)
    _flatten(new, "", flat_new)
    changed = [k for k in sorted(flat_new) if k in flat_old and flat_old[k] != flat_new[k]]
    added = [k for k in sorted(flat_new) if k not in flat_old]
    removed = [k for k in sorted(flat_old) if k not in flat_new]
    parts = [f"changed {k}" for k in changed] + [f"added {k}" for k in added]
    parts += [f"removed {k}" for k in removed]
    if not parts:
        return "inputs unchanged (forced rebuild)"
    more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more
