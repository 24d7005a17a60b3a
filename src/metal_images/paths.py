"""Where things live: the repository, the shared download cache and the build state."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The checkout holding `images/`; `METAL_IMAGES_ROOT` overrides the search."""
    env = os.environ.get("METAL_IMAGES_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "images").is_dir() and (candidate / "pyproject.toml").is_file():
            return candidate
    # installed package inside a checkout (editable install): src/metal_images -> root
    pkg_root = Path(__file__).resolve().parents[2]
    if (pkg_root / "images").is_dir():
        return pkg_root
    return here


def catalog_dir() -> Path:
    """The image catalog: one folder per family with an image.yaml."""
    return Path(os.environ.get("METAL_IMAGES_CATALOG", repo_root() / "images"))


def cache_dir() -> Path:
    """Downloads shared by all builds (packages, artifacts); outside the repository."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "metal-images"
    path = Path(os.environ.get("METAL_IMAGES_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def work_dir() -> Path:
    """Build state: stage trees and the final root tree of each image."""
    path = Path(os.environ.get("METAL_IMAGES_WORKDIR", repo_root() / "build"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def image_work_dir(name: str) -> Path:
    return work_dir() / name


def rootfs_dir(name: str) -> Path:
    """The final, built root tree of image `name` (what export, test and shell use)."""
    return image_work_dir(name) / "rootfs"


def output_dir() -> Path:
    """Where `export` writes `<channel>/<os>/<version>/` (upstream's `images/`)."""
    return Path(os.environ.get("METAL_IMAGES_OUTPUT", repo_root() / "images"))
