"""Export and check real Debian trees.

`debian_rootfs` is the session fixture of tests/conftest.py (the builder's real Debian 12
build). A second, opt-in test exports any big tree named by METAL_IMAGES_BIG_TREE (e.g. a
copy of the development tree /var/tmp/scratch/debian-rootfs); export only reads the tree.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from metal_images.artifact import registry
from metal_images.artifact.exporter import ImageIdentity, export_tree
from metal_images.contract.report import Report, check_archive

IDENTITY = ImageIdentity("debian", "debian", "12", "stable")


def export_and_check(root: Path, out: Path) -> Report:
    result = export_tree(root, out, IDENTITY)
    assert result.stats.entries > 10_000
    subprocess.run(["md5sum", "-c", registry.MD5], cwd=out, check=True, capture_output=True)
    subprocess.run(["lz4", "-t", registry.IMAGE], cwd=out, check=True, capture_output=True)
    report = check_archive(str(out / registry.IMAGE))
    assert len(report.facts.entries) == result.stats.entries
    return report


def failures(report: Report) -> dict[str, str]:
    return {r.rule.id: r.reason for r in report.results if r.status == "fail"}


@pytest.mark.slow
def test_real_debian_image_exports_and_passes_check(debian_rootfs: Path, tmp_path: Path) -> None:
    report = export_and_check(debian_rootfs, tmp_path / "stable/debian/12")
    assert failures(report) == {}


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("METAL_IMAGES_BIG_TREE"),
                    reason="set METAL_IMAGES_BIG_TREE=<root tree>")
def test_big_tree_exports_with_valid_archive_rules(tmp_path: Path) -> None:
    report = export_and_check(Path(os.environ["METAL_IMAGES_BIG_TREE"]), tmp_path / "out")
    archive_rules = {"lz4-frame", "md5-sidecar", "sha-sidecars", "tar-readable", "tar-no-global-header",
                     "tar-entry-types", "tar-names", "tar-links", "kernel", "kernel-bzimage", "os-release"}
    assert archive_rules.isdisjoint(failures(report)), failures(report)
