"""Resolving a path inside an image the way a chroot would.

Symlinks are followed inside the image (absolute targets restart at its root, `..` stops
at it), never out to the host. The walk does not care where the image is: callbacks
answer "is this name a symlink, and to what?" and "does it exist?", so one resolver
serves a tree on disk (`in_directory`) and the index of a tar archive alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

MAX_HOPS = 40  # symlinks followed for one path before it counts as a loop

# name relative to the root ("a/b", "" for the root) -> link target, or None if not a link
ReadLink = Callable[[str], "str | None"]
# name relative to the root -> whether it is there (asked only for names that are not links)
Exists = Callable[[str], bool]


def split(path: str) -> list[str]:
    """The parts of `path` without the root, empty parts and `.`."""
    return [p for p in path.split("/") if p not in ("", ".")]


def resolve(
    path: str, readlink: ReadLink, exists: Exists | None = None, *, follow_last: bool = True
) -> str | None:
    """The name `path` points to, relative to the root ("" for the root itself).

    None if `exists` says a part is missing (without `exists` nothing is missing: a path
    yet to be created resolves too), or after more than MAX_HOPS links. With
    `follow_last=False` a symlink in the last place is the answer itself (like lstat).
    """
    pending = split(path)
    current: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if current:
                current.pop()
            continue
        name = "/".join([*current, part])
        target = readlink(name) if follow_last or pending else None
        if target is not None:
            hops += 1
            if hops > MAX_HOPS:
                return None
            if target.startswith("/"):
                current = []
            pending = split(target) + pending
            continue
        if exists is not None and not exists(name):
            return None
        current.append(part)
    return "/".join(current)


def in_directory(root: Path) -> tuple[ReadLink, Exists]:
    """The callbacks for a root tree on disk."""

    def readlink(name: str) -> str | None:
        candidate = root / name
        return os.readlink(candidate) if candidate.is_symlink() else None

    def exists(name: str) -> bool:
        return (root / name).exists()

    return readlink, exists
