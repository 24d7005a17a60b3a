"""Promote a tested candidate: put the very files `metal-images test` proved into the
output, instead of exporting the tree a second time (`export --from-candidate`).

The candidate must be complete, its image must still match its `.sha256`, and it must have
been exported from the build that is current now (same image identity and stage keys in
build.json), else the promoted files would not be what was built. Files are hard-linked
when the candidate is on the same file system (no copy), copied otherwise, into a
temporary directory that replaces the target in one rename, as export does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from metal_images.artifact import registry
from metal_images.artifact.exporter import ImageIdentity, replace_directory
from metal_images.builder.state import BuildState
from metal_images.errors import MetalImagesError


def _build_json(candidate: Path) -> dict[str, Any]:
    path = candidate / registry.BUILD_INFO
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MetalImagesError(f"candidate {candidate}: cannot read {registry.BUILD_INFO}: {exc}") from exc
    if not isinstance(data, dict):
        raise MetalImagesError(f"candidate {candidate}: {registry.BUILD_INFO} is not an object")
    return data


def check_candidate(candidate: Path, identity: ImageIdentity, build_state: BuildState | None) -> str:
    """Everything a promotion relies on, before anything is written; returns the md5."""
    if not candidate.is_dir():
        raise MetalImagesError(f"candidate {candidate}: no such directory (export it with --output first)")
    missing = [f.name for f in registry.ARTIFACT_FILES if f.required and not (candidate / f.name).is_file()]
    if missing:
        raise MetalImagesError(f"candidate {candidate}: incomplete, {', '.join(missing)} missing")
    recorded = _build_json(candidate)
    if recorded.get("image") != identity.as_dict():
        raise MetalImagesError(f"candidate {candidate}: it is {recorded.get('image')}, "
                               f"not {identity.as_dict()}")
    stages = build_state.stages if build_state else {}
    if recorded.get("stages", {}) != stages:
        raise MetalImagesError(f"candidate {candidate}: exported from another build (stage keys differ "
                               "from build/<name>/build-state.json); export and test it again")
    sha256 = (candidate / registry.SHA256).read_text().split(" ", 1)[0].strip()
    with (candidate / registry.IMAGE).open("rb") as handle:
        actual = hashlib.file_digest(handle, "sha256").hexdigest()
    if actual != sha256:
        raise MetalImagesError(f"candidate {candidate}: {registry.IMAGE} does not match its .sha256 "
                               f"(changed since it was exported?)")
    return (candidate / registry.MD5).read_text().split(" ", 1)[0].strip()


def promote(candidate: Path, target: Path) -> None:
    """Put the candidate's artifact files (only those) at `target`, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.promote-", dir=target.parent))
    try:
        os.chmod(staged, 0o755)  # mkdtemp makes it private; the store serves it to everyone
        for artifact in registry.ARTIFACT_FILES:
            source = candidate / artifact.name
            if not source.is_file():
                continue
            try:
                os.link(source, staged / artifact.name)
            except OSError:  # another file system (or no hard links): copy
                shutil.copyfile(source, staged / artifact.name)
                os.chmod(staged / artifact.name, 0o644)
        replace_directory(staged, target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
