"""Paths inside a root tree, resolved the way the image would see them.

A symlink in the image (`/lib -> usr/lib`, `/etc/resolv.conf -> /run/...`) must be
followed inside the tree, never out to the build host.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from metal_images.errors import MetalImagesError

MAX_LINKS = 40


def resolve_in_root(root: Path, inner: str, *, follow_last: bool = True) -> Path:
    """The host path of `inner` (absolute or relative to /) within `root`."""
    parts = [p for p in PurePosixPath("/", inner).parts[1:] if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        is_last = not parts
        if candidate.is_symlink() and (follow_last or not is_last):
            hops += 1
            if hops > MAX_LINKS:
                raise MetalImagesError(f"too many symlinks resolving {inner} in {root}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in PurePosixPath(target).parts if p not in ("/", "", ".")] + parts
            continue
        resolved.append(part)
    return root.joinpath(*resolved)
