"""Shared fixtures: the catalog's images, built through the real builder once per session
(a cache hit when build/<family> is current) and returned as build/<family>/rootfs.

Every image is built and booted by default. METAL_IMAGES_TEST_IMAGES (comma list, e.g.
`debian` or `ubuntu,firewall`) narrows the slow tests to those images while working on one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from metal_images import paths

# the images the suite builds and boots; the firewall is built on ubuntu; the releases
# (images/<family>/<version>.yaml) are named <family>-<version>
TESTED_IMAGES = ("debian", "ubuntu", "firewall", "debian-13", "ubuntu-24.04", "ubuntu-26.04",
                 "debian-nvidia")


def images_requested() -> set[str]:
    names = [n.strip() for n in os.environ.get("METAL_IMAGES_TEST_IMAGES", "").split(",") if n.strip()]
    return set(names) if names else set(TESTED_IMAGES)


def _can_build() -> str | None:
    if os.geteuid() != 0:
        return "building an image needs root (mmdebstrap --mode=root, chroot, mounts)"
    if shutil.which("mmdebstrap") is None:
        return "mmdebstrap is not installed (scripts/bootstrap.sh installs it)"
    return None


def built_rootfs(family: str) -> Path:
    """build/<family>/rootfs, built when needed (minutes cold), or skip with the reason."""
    if family not in images_requested():
        chosen = os.environ.get("METAL_IMAGES_TEST_IMAGES")
        pytest.skip(f"METAL_IMAGES_TEST_IMAGES={chosen} leaves out {family}")
    reason = _can_build()
    if reason:
        pytest.skip(reason)
    from metal_images.builder.builder import build_image

    result = build_image(family)
    assert result.rootfs == paths.rootfs_dir(family)
    return result.rootfs


@pytest.fixture(scope="session")
def debian_rootfs() -> Path:
    return built_rootfs("debian")


@pytest.fixture(scope="session")
def ubuntu_rootfs() -> Path:
    return built_rootfs("ubuntu")


@pytest.fixture(scope="session")
def firewall_rootfs() -> Path:
    return built_rootfs("firewall")


@pytest.fixture(scope="session")
def rootfs_of() -> Callable[[str], Path]:
    """built_rootfs for any catalog image, built at most once per session (releases such
    as debian-13 have no fixture name of their own)."""
    trees: dict[str, Path] = {}

    def tree(family: str) -> Path:
        if family not in trees:
            trees[family] = built_rootfs(family)
        return trees[family]

    return tree


# The suite builds seven images and boots each: when the disk runs out, every later test
# fails in tmp_path with ENOSPC. The summary says how close the run came.
_least_free: tuple[float, str] = (float("inf"), "")


def _free_gib(path: str) -> float:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize / 2**30


def pytest_runtest_teardown(item: pytest.Item) -> None:
    global _least_free
    free = min(_free_gib(str(Path(__file__).parents[1])), _free_gib(tempfile.gettempdir()))
    if free < _least_free[0]:
        _least_free = (free, item.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    free, nodeid = _least_free
    if nodeid:
        terminalreporter.write_line(f"disk: least free {free:.1f} GiB (after {nodeid})")
