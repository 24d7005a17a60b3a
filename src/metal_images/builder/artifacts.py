"""Components that exist only as downloads (image.yaml `artifacts:`): fetch, verify, install.

The builder calls `install_artifacts(spec, root)` in the customize stage, after the
context overlay. Each artifact is downloaded once into the shared cache, verified by its
sha256 and then either copied to its path (with its mode) or, with `extract: true`,
unpacked there as a tar archive. A checksum mismatch always fails the build; an artifact
that cannot be fetched fails it too unless the image says `allow_missing_artifacts: true`,
in which case the build goes on, warns, and reports the artifact as missing.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from metal_images import ui
from metal_images.builder.download import Unavailable, fetch_verified
from metal_images.catalog import ImageSpec
from metal_images.catalog.model import Artifact
from metal_images.errors import MetalImagesError
from metal_images.files import atomic_output


def install_artifacts(spec: ImageSpec, root: Path) -> list[str]:
    """Install the spec's artifacts into `root`; return the names of those left out."""
    missing: list[str] = []
    for artifact in spec.artifacts:
        label = f"{spec.family}: artifact {artifact.name}"
        try:
            local = fetch_verified(artifact.url, artifact.sha256, label)
        except Unavailable as exc:
            if not spec.allow_missing_artifacts:
                raise MetalImagesError(
                    f"{label}: cannot fetch {artifact.url}: {exc} "
                    "(set `allow_missing_artifacts: true` in image.yaml to build without it)"
                ) from exc
            left_out = f"nothing is unpacked at {artifact.path}" if artifact.extract else (
                f"{artifact.path} is left out of the image")
            ui.warn(f"{label} is missing: cannot fetch {artifact.url}: {exc}; {left_out}")
            missing.append(artifact.name)
            continue
        with ui.step(f"install {artifact.name} at {artifact.path}"):
            if artifact.extract:
                _extract(artifact, local, root, label)
            else:
                _copy(artifact, local, root, label)
    return missing


def _inside(root: Path, image_path: str, label: str, *, folder: bool = False) -> Path:
    """`image_path` (absolute in the image) as a host path, refusing ways out of `root`."""
    relative = PurePosixPath(image_path).relative_to("/")
    if ".." in relative.parts:
        raise MetalImagesError(f"{label}: path {image_path} must not contain '..'")
    target = root / relative
    real_root = root.resolve()
    real = (target if folder else target.parent).resolve()
    if real != real_root and real_root not in real.parents:
        raise MetalImagesError(f"{label}: path {image_path} leads out of the image through a symlink")
    return target


def _copy(artifact: Artifact, local: Path, root: Path, label: str) -> None:
    target = _inside(root, artifact.path, label)
    if target.is_dir() and not target.is_symlink():
        raise MetalImagesError(f"{label}: {artifact.path} is a directory in the image; give the file's path")
    with atomic_output(target, mode=int(artifact.mode, 8)) as out, open(local, "rb") as src:
        shutil.copyfileobj(src, out)
        if os.geteuid() == 0:
            os.fchown(out.fileno(), 0, 0)  # the image's files belong to root, not the checkout's owner


def _stripped(name: str, strip: int) -> str | None:
    parts = PurePosixPath(name).parts
    if parts and parts[0] == "/":
        parts = parts[1:]
    if len(parts) <= strip:
        return None
    return str(PurePosixPath(*parts[strip:]))


def _extract(artifact: Artifact, local: Path, root: Path, label: str) -> None:
    target = _inside(root, artifact.path, label, folder=True)
    target.mkdir(parents=True, exist_ok=True)

    def member_filter(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
        name = _stripped(member.name, artifact.strip)
        if name is None:
            return None  # a leading directory the strip drops
        changes: dict[str, str] = {"name": name}
        if member.islnk():
            link = _stripped(member.linkname, artifact.strip)
            if link is None:
                return None
            changes["linkname"] = link
        # the data filter refuses absolute names, links out of `dest` and device files
        return tarfile.data_filter(member.replace(**changes, deep=False), dest)  # type: ignore[arg-type]

    try:
        with tarfile.open(local, "r:*") as archive:
            archive.extractall(target, filter=member_filter)
    except tarfile.FilterError as exc:
        raise MetalImagesError(f"{label}: refusing an unsafe archive member: {exc}") from exc
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise MetalImagesError(f"{label}: cannot unpack {artifact.url} at {artifact.path}: {exc}") from exc
