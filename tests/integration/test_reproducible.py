"""Two builds of Debian 12 from the same package cache and SOURCE_DATE_EPOCH give a
byte-identical img.tar.lz4 (issue 13.7).

Slow (root): the bootstrap stage is the cached one (shared, as two builds from one package
cache share what mmdebstrap made of it); the customize stage runs twice into scratch
trees and each is exported. About 4 minutes on 2 cores. On a difference the assertion
names the differing paths (metal-images diff).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from metal_images import paths
from metal_images.artifact import registry
from metal_images.artifact.exporter import ImageIdentity, export_tree
from metal_images.artifact.treediff import describe, diff_states, read_side
from metal_images.builder.backends import backend_for
from metal_images.builder.customize import run_customize
from metal_images.builder.stagekey import stage_key
from metal_images.builder.stagestore import StageStore, remove_tree
from metal_images.catalog import load_catalog

pytestmark = [pytest.mark.slow, pytest.mark.root,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

EPOCH = "1764547200"  # 2025-12-01


@pytest.fixture
def scratch() -> Iterator[Path]:
    """Scratch trees next to the stages (same file system: cp --reflink), removed on exit."""
    folder = paths.image_work_dir("debian") / "reproducible-test"
    remove_tree(folder)
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        remove_tree(folder)


def test_two_builds_give_the_same_archive(debian_rootfs: Path, scratch: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    spec = load_catalog().get("debian")
    bootstrap = StageStore("debian").lookup("bootstrap", stage_key(backend_for("debian").inputs(spec)))
    assert bootstrap is not None, "the debian_rootfs fixture built the bootstrap stage"
    identity = ImageIdentity(spec.family, spec.name, spec.version, "test")
    archives = []
    for run in ("a", "b"):
        tree = scratch / f"tree-{run}"
        run_customize(spec, bootstrap.tree, tree, distribution="debian", suite=spec.suite or "bookworm",
                      has_kernel=True)
        export_tree(tree, scratch / f"out-{run}", identity, build_state=None)
        archives.append(scratch / f"out-{run}" / registry.IMAGE)
    a, b = (p.read_bytes() for p in archives)
    if a != b:
        differences = [describe(d) for d in diff_states(read_side(archives[0]), read_side(archives[1]))]
        pytest.fail(f"{len(differences)} paths differ:\n" + "\n".join(differences[:40]))
    assert len(a) > 100_000_000  # a whole image, not an empty export
