"""Export a built root tree as the files metal-hammer downloads (see artifact/registry.py).

Everything is written into a hidden temporary directory beside the target and renamed
into place at the end, so `<channel>/<os>/<version>/` is always either the previous
complete export or the new complete one, never half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import lz4

from metal_images import __version__, ui
from metal_images.artifact import registry
from metal_images.artifact.imageinfo import image_info, read_in_root
from metal_images.artifact.lz4frame import BLOCK_SIZE, Digests, ParallelLZ4Writer
from metal_images.artifact.packages import installed_packages, package_format, packages_listing
from metal_images.artifact.sbom import sbom_json
from metal_images.artifact.tartree import TarStats, TreeScan, scan_tree, write_tar
from metal_images.builder.state import STATE_FILE, BuildState
from metal_images.errors import ConfigError, MetalImagesError
from metal_images.identity import ImageRef
from metal_images.imagefiles import os_id, parse_os_release
from metal_images.sidecar import sidecar_text

# the fastest high-compression level: 1.021x the size of lz4 -9 (within issue 19's 1.03x)
# in 0.21x its time on two cores (bench/export_bench.py; level 4: 1.011x in 0.23x)
DEFAULT_LEVEL = 3


@dataclass(frozen=True)
class ImageIdentity:
    """What build.json and image-info.json say the image is: its family and its set."""

    family: str
    name: str
    version: str
    channel: str

    @classmethod
    def of(cls, family: str, ref: ImageRef) -> ImageIdentity:
        return cls(family, ref.os, ref.version, ref.channel.path)

    def as_dict(self) -> dict[str, str]:
        return {"family": self.family, "name": self.name, "version": self.version,
                "id": f"{self.name}-{self.version}", "channel": self.channel}


@dataclass
class ExportResult:
    directory: Path
    digests: Digests
    stats: TarStats
    skipped: list[tuple[str, str]]
    level: int
    source_date_epoch: int
    epoch_origin: str
    seconds: dict[str, float] = field(default_factory=dict)


def default_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def source_date_epoch(build_state: BuildState | None, scan: TreeScan) -> tuple[int, str]:
    """SOURCE_DATE_EPOCH from the environment, else the build's finish time, else the newest
    mtime of the tree (a no-op clamp, but still the same value for the same tree)."""
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env is not None:
        if not env.isdigit():
            raise ConfigError(f"SOURCE_DATE_EPOCH={env!r}: expected seconds since 1970 (digits only)")
        return int(env), "SOURCE_DATE_EPOCH"
    built_at = build_state.built_at if build_state else ""
    if isinstance(built_at, str) and built_at:
        try:
            return int(datetime.fromisoformat(built_at).timestamp()), f"{STATE_FILE} built_at"
        except ValueError as exc:
            raise MetalImagesError(f"{STATE_FILE}: built_at {built_at!r} is not an ISO date") from exc
    return scan.newest_mtime, "newest mtime in the tree"


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _json(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build_json(identity: ImageIdentity, build_state: BuildState | None, *, level: int,
               epoch: int, origin: str) -> dict[str, Any]:
    export_tools = {
        "metal-images": __version__,
        "python": ".".join(map(str, sys.version_info[:3])),
        "python-lz4": str(getattr(lz4, "__version__", "")),
        "liblz4": str(lz4.library_version_string()),
    }
    return {
        "image": identity.as_dict(),
        "built": build_state is not None,
        "built_at": (build_state.built_at or None) if build_state else None,
        "parent": build_state.parent if build_state else None,
        "stages": build_state.stages if build_state else {},
        "args": build_state.args if build_state else {},
        "tools": build_state.tools if build_state else {},
        "durations": build_state.durations if build_state else {},
        "export": {
            "tools": export_tools,
            "lz4_level": level,
            "lz4_block_size": BLOCK_SIZE,
            "tar_format": "ustar, per-file PAX headers only where needed",
            "source_date_epoch": epoch,
            "source_date_epoch_from": origin,
        },
    }


def replace_directory(staged: Path, target: Path) -> None:
    """Put `staged` at `target`; an existing `target` disappears only once `staged` is complete."""
    old: Path | None = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rename(target, old / target.name)
    os.rename(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_tree(
    root: Path,
    target: Path,
    identity: ImageIdentity,
    *,
    level: int = DEFAULT_LEVEL,
    threads: int | None = None,
    build_state: BuildState | None = None,
) -> ExportResult:
    threads = threads or default_threads()
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.export-", dir=target.parent))
    os.chmod(staged, 0o755)  # mkdtemp makes it private; the store serves it to everyone
    seconds: dict[str, float] = {}
    try:
        started = time.monotonic()
        with ui.step(f"scan {root}"):
            scan = scan_tree(root)
            epoch, origin = source_date_epoch(build_state, scan)
            ui.info(f"{len(scan.entries)} entries, SOURCE_DATE_EPOCH={epoch} ({origin})")
            for name, kind in scan.skipped:
                ui.warn(f"left out /{name}: a {kind} (metal-hammer can only extract files, dirs and links)")
        seconds["scan"] = time.monotonic() - started

        started = time.monotonic()
        with ui.step(f"write {registry.IMAGE} (lz4 level {level}, {threads} threads)"), \
                open(staged / registry.IMAGE, "wb") as out, \
                ParallelLZ4Writer(out, level=level, threads=threads) as writer:
            stats = write_tar(scan, epoch, writer)
            digests = writer.close()
            ui.info(f"{stats.tar_bytes / 1e6:.1f} MB tar -> {digests.size / 1e6:.1f} MB lz4")
        seconds["image"] = time.monotonic() - started

        started = time.monotonic()
        with ui.step("write manifests"):
            packages = installed_packages(root)
            os_release = parse_os_release(read_in_root(root, "/etc/os-release"))
            if package_format(root) is None:
                ui.warn(f"{root}: no package database: packages.txt is empty, the SBOM lists no packages")
                listing = ""
            else:
                listing = packages_listing(root)
            _write(staged / registry.PACKAGES, listing)
            _write(staged / registry.SBOM, sbom_json(
                image_name=identity.name, image_version=identity.version, image_sha256=digests.sha256,
                packages=packages, fmt=package_format(root), os_id=os_id(os_release),
                os_version=os_release.get("VERSION_ID", ""), source_date_epoch=epoch))
            _write(staged / registry.IMAGE_INFO, _json(image_info(
                root, image=identity.as_dict(), packages=packages, scan=scan, stats=stats,
                compressed_size=digests.size, source_date_epoch=epoch)))
            _write(staged / registry.BUILD_INFO, _json(
                build_json(identity, build_state, level=level, epoch=epoch, origin=origin)))
            for name, hexdigest in ((registry.MD5, digests.md5), (registry.SHA256, digests.sha256),
                                    (registry.SHA512, digests.sha512)):
                _write(staged / name, sidecar_text(hexdigest, registry.IMAGE))
        seconds["manifests"] = time.monotonic() - started

        missing = [f.name for f in registry.ARTIFACT_FILES if f.required and not (staged / f.name).is_file()]
        if missing:
            raise MetalImagesError(f"export incomplete, not written: {', '.join(missing)} missing")
        replace_directory(staged, target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return ExportResult(target, digests, stats, scan.skipped, level, epoch, origin, seconds)
