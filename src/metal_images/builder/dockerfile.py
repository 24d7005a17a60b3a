"""The `dockerfile:` backend: a Dockerfile built FROM a catalog image, with buildah.

Only `FROM metal-images/<family>` is supported (this machine has no registry access): the
parent's built tree is imported into buildah's local storage as
`localhost/metal-images/<family>`, the Dockerfile is built with `--isolation chroot
--pull=never`, and the resulting tree is copied out as this image's base tree. The
customize stage then runs on it like on any other base.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from metal_images import runner, ui
from metal_images.builder.stagekey import StageInputs, tree_digest
from metal_images.catalog import ImageSpec
from metal_images.catalog.loader import DOCKER_IMAGE_PREFIX
from metal_images.errors import MetalImagesError
from metal_images.files import file_digest

RECIPE = 1
IMAGE_PREFIX = DOCKER_IMAGE_PREFIX


def dockerfile_path(spec: ImageSpec) -> Path:
    assert spec.dockerfile is not None
    return spec.folder / spec.dockerfile


def dockerfile_inputs(spec: ImageSpec, parent_key: str) -> StageInputs:
    return {
        "recipe": RECIPE,
        "backend": "buildah",
        "parent": parent_key,
        "dockerfile": file_digest(dockerfile_path(spec)),
        # the build context: the image's folder (what COPY can see)
        "context": tree_digest(spec.folder),
    }


def _buildah(*args: str) -> str:
    return runner.run(["buildah", *args]).output.strip().splitlines()[-1]


def _import_tree(tree: Path, tag: str) -> None:
    container = _buildah("from", "--pull=never", "scratch")
    try:
        mountpoint = Path(_buildah("mount", container))
        runner.run(["cp", "-a", "--reflink=auto", f"{tree}/.", str(mountpoint)])
        runner.run(["buildah", "umount", container])
        runner.run(["buildah", "commit", "--quiet", "--rm", container, tag])
    except BaseException:
        runner.run(["buildah", "rm", container], check=False)
        raise


def _export_tree(tag: str, target: Path) -> None:
    container = _buildah("from", "--pull=never", tag)
    try:
        mountpoint = Path(_buildah("mount", container))
        runner.run(["cp", "-a", "--reflink=auto", str(mountpoint), str(target)])
    finally:
        runner.run(["buildah", "umount", container], check=False)
        runner.run(["buildah", "rm", container], check=False)


def run_dockerfile(spec: ImageSpec, parent_family: str, parent_tree: Path, target: Path) -> None:
    if shutil.which("buildah") is None:
        raise MetalImagesError("buildah is not installed (run `make deps` or scripts/bootstrap.sh)")
    parent_tag = f"localhost/{IMAGE_PREFIX}{parent_family}:latest"
    result_tag = f"localhost/{IMAGE_PREFIX}{spec.family}:build"
    try:
        with ui.step(f"import {parent_family} into buildah"):
            _import_tree(parent_tree, parent_tag)
        with ui.step(f"buildah bud {spec.dockerfile}"):
            runner.run(["buildah", "bud", "--isolation", "chroot", "--pull=never", "--layers=false",
                        "-f", str(dockerfile_path(spec)), "-t", result_tag, str(spec.folder)])
        with ui.step("export the tree"):
            _export_tree(result_tag, target)
    finally:
        # the trees live in our stage dirs; buildah's copies are only in the way
        runner.run(["buildah", "rmi", "--force", result_tag, parent_tag], check=False)
