"""The cache on disk: `<root>/images|kernels|boot-images/<subpath>` plus `<root>/tmp`.

Downloads land in `tmp` first, so a file at its final path is always complete and verified.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from metal_images.cachesync.planner import CachedFile
from metal_images.errors import MetalImagesError
from metal_images.sidecar import first_token

CACHES = ("images", "kernels", "boot-images")


@dataclass(frozen=True)
class CacheLayout:
    root: Path

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def kernels(self) -> Path:
        return self.root / "kernels"

    @property
    def boot_images(self) -> Path:
        return self.root / "boot-images"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp" / "tmp"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One sync at a time per cache root (the kernel drops the lock if the process dies)."""
        lock_dir = self.root / "tmp"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with (lock_dir / ".lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise MetalImagesError(f"another cache-sync is running on {self.root}") from exc
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def clean_tmp(self) -> int:
        """Remove leftovers of an interrupted download; returns how many were removed."""
        if not self.tmp.is_dir():
            return 0
        count = 0
        for entry in self.tmp.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            count += 1
        return count


def index_cache(root: Path) -> dict[str, CachedFile]:
    """The files in one cache (sidecar `.md5` files are not entries; their sum is)."""
    index: dict[str, CachedFile] = {}
    if not root.is_dir():
        return index
    for dirpath, _dirs, files in os.walk(root):
        names = set(files)
        for name in files:
            if name.endswith(".md5"):
                continue
            path = Path(dirpath) / name
            md5 = None
            if name + ".md5" in names:
                md5 = first_token((Path(dirpath) / (name + ".md5")).read_text(errors="replace")) or None
            index[path.relative_to(root).as_posix()] = CachedFile(
                path.relative_to(root).as_posix(), path.stat().st_size, md5)
    return index


def cache_usage(root: Path) -> tuple[int, int]:
    """(files, bytes) of a cache, sidecars not counted as files but counted in bytes."""
    files = size = 0
    if root.is_dir():
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                size += (Path(dirpath) / name).stat().st_size
                files += 0 if name.endswith(".md5") else 1
    return files, size


def remove_file(root: Path, subpath: str) -> None:
    for path in (root / subpath, root / (subpath + ".md5")):
        path.unlink(missing_ok=True)


def remove_empty_dirs(root: Path) -> None:
    if not root.is_dir():
        return
    for dirpath, _dirs, _files in os.walk(root, topdown=False):
        path = Path(dirpath)
        if path != root:
            with contextlib.suppress(OSError):  # not empty
                path.rmdir()
