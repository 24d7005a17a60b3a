"""A `dockerfile:` image FROM the catalog's Debian, built with buildah (--isolation chroot)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from metal_images import paths
from metal_images.builder.builder import build_image
from metal_images.builder.stagestore import remove_tree
from metal_images.builder.state import read_state
from metal_images.catalog import load_catalog
from metal_images.runner import capture

pytestmark = [pytest.mark.slow, pytest.mark.root]

FAMILY = "test-dockerfile"


def test_dockerfile_image_from_catalog_debian(debian_rootfs: Path, tmp_path: Path) -> None:
    if shutil.which("buildah") is None:
        pytest.skip("buildah is not installed (scripts/bootstrap.sh installs it)")
    catalog = tmp_path / "images"
    for family in ("shared", "debian"):  # debian overlays ../shared/context first
        shutil.copytree(paths.catalog_dir() / family, catalog / family, symlinks=True)
    folder = catalog / FAMILY
    (folder / "files").mkdir(parents=True)
    (folder / "files/greeting").write_text("hello from COPY\n")
    (folder / "Dockerfile").write_text(
        "FROM metal-images/debian\n"
        "RUN dpkg-query -W frr && echo from-run > /etc/dockerfile-mark\n"
        "COPY files/greeting /etc/greeting\n")
    (folder / "image.yaml").write_text(f'name: {FAMILY}\nversion: "1"\ndockerfile: Dockerfile\n')
    try:
        result = build_image(FAMILY, catalog=load_catalog(catalog))
        root = result.rootfs
        assert result.rebuilt == [f"{FAMILY}/dockerfile", f"{FAMILY}/customize"]
        assert (root / "etc/dockerfile-mark").read_text() == "from-run\n"
        assert (root / "etc/greeting").read_text() == "hello from COPY\n"
        assert (root / "etc/sysctl.d/11-console-logging.conf").is_file()  # from the parent
        assert (root / "install.sh").is_file()
        assert (root / "etc/machine-id").read_text() == ""
        state = read_state(FAMILY)
        assert state.parent == "debian" and "buildah" in state.tools
        # buildah's copies are gone: the trees live in our stage dirs only
        assert f"metal-images/{FAMILY}" not in capture(["buildah", "images", "--format", "{{.Name}}"])
        assert build_image(FAMILY, catalog=load_catalog(catalog)).rebuilt == []
    finally:
        remove_tree(paths.image_work_dir(FAMILY))
