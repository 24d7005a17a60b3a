"""The releases that CI builds but does not boot yet (Ubuntu 24.04 and 26.04): built by the
real builder from their release files, exported, and passing every `check` rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from metal_images.artifact import registry
from metal_images.artifact.exporter import ImageIdentity, export_tree
from metal_images.contract.report import check_archive


@pytest.mark.slow
@pytest.mark.parametrize(("image", "version"), [("ubuntu-24.04", "24.04"), ("ubuntu-26.04", "26.04")])
def test_release_builds_exports_and_passes_check(rootfs_of: Callable[[str], Path], tmp_path: Path,
                                                 image: str, version: str) -> None:
    tree = rootfs_of(image)
    identity = ImageIdentity(image, "ubuntu", version, "stable")
    export_tree(tree, tmp_path, identity)
    report = check_archive(str(tmp_path / registry.IMAGE))
    failed = {r.rule.id: r.reason for r in report.results if r.status == "fail"}
    assert failed == {}
    os_release = (tree / "usr/lib/os-release").read_text()
    assert f'VERSION_ID="{version}"' in os_release
