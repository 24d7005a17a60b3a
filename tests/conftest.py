"""Shared fixtures. `debian_rootfs` builds images/debian through the real builder once per
session (a cache hit when build/debian is current) and returns build/debian/rootfs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from metal_images import paths


def _can_build() -> str | None:
    if os.geteuid() != 0:
        return "building an image needs root (mmdebstrap --mode=root, chroot, mounts)"
    if shutil.which("mmdebstrap") is None:
        return "mmdebstrap is not installed (scripts/bootstrap.sh installs it)"
    return None


@pytest.fixture(scope="session")
def debian_rootfs() -> Path:
    """The built Debian 12 tree (build/debian/rootfs). Builds it when needed (minutes cold)."""
    reason = _can_build()
    if reason:
        pytest.skip(reason)
    from metal_images.build.builder import build_image

    result = build_image("debian")
    assert result.rootfs == paths.rootfs_dir("debian")
    return result.rootfs
