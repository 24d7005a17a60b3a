"""The debian-nvidia image as the builder really makes it (issue 16): built on the debian
tree with Debian's driver, its module built by DKMS for the image's one kernel, exported
and passing `check` with the dkms-modules rule. The rule's failing side (stale modules
after a kernel bump) is tested on small archives in tests/unit/test_check_dkms.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from metal_images.artifact import registry
from metal_images.artifact.exporter import ImageIdentity, export_tree
from metal_images.builder.aptsources import EXTRA_SOURCES
from metal_images.catalog import load_catalog
from metal_images.contract.report import check_archive

IDENTITY = ImageIdentity("debian-nvidia", "debian-nvidia", "12", "stable")


@pytest.fixture(scope="module")
def nvidia_rootfs(rootfs_of: Callable[[str], Path]) -> Path:
    return rootfs_of("debian-nvidia")


def _release() -> str:
    kernel = load_catalog().get("debian-nvidia").kernel
    assert kernel is not None
    return kernel.removeprefix("linux-image-")


@pytest.mark.slow
def test_one_kernel_with_its_dkms_modules(nvidia_rootfs: Path) -> None:
    release = _release()
    assert sorted(p.name for p in (nvidia_rootfs / "boot").glob("System.map-*")) == [f"System.map-{release}"]
    assert [p.name for p in (nvidia_rootfs / "usr/lib/modules").iterdir()] == [release]
    built = sorted(p.name for p in (nvidia_rootfs / f"usr/lib/modules/{release}/updates/dkms").iterdir())
    assert any(re.fullmatch(r"nvidia(-current)?\.ko(\.xz)?", name) for name in built), built
    # non-free came from image.yaml, added to the parent's own archives (no host of ours)
    assert "Components: non-free" in (nvidia_rootfs / EXTRA_SOURCES).read_text()
    # without the toolkit download containerd keeps runc
    assert not (nvidia_rootfs / "etc/containerd/conf.d/nvidia.toml").exists()


@pytest.mark.slow
def test_export_passes_check_with_the_dkms_rule(nvidia_rootfs: Path, tmp_path: Path) -> None:
    export_tree(nvidia_rootfs, tmp_path / "good", IDENTITY)
    report = check_archive(str(tmp_path / "good" / registry.IMAGE))
    results = {r.rule.id: (r.status, r.reason) for r in report.results}
    assert results["dkms-modules"] == ("pass", ""), results["dkms-modules"]
    assert [k for k, (status, _) in results.items() if status == "fail"] == []

