"""Paths inside a root tree, resolved the way the image would see them.

A symlink in the image (`/lib -> usr/lib`, `/etc/resolv.conf -> /run/...`) must be
followed inside the tree, never out to the build host.
"""

from __future__ import annotations

from pathlib import Path

from metal_images import linkwalk
from metal_images.errors import MetalImagesError


def resolve_in_root(root: Path, inner: str, *, follow_last: bool = True) -> Path:
    """The host path of `inner` (absolute or relative to /) within `root`; it need not exist."""
    readlink, _ = linkwalk.in_directory(root)
    name = linkwalk.resolve(inner, readlink, follow_last=follow_last)
    if name is None:
        raise MetalImagesError(f"too many symlinks resolving {inner} in {root}")
    return root / name
