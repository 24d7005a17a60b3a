"""An exported artifact set on disk: `<output>/<channel>/<os>/<version>/`, checked and hashed.

The image's checksums come from its sidecars (export computed them while writing it; no
second pass over a GiB here); the small files are hashed directly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from metal_images.artifact.registry import ARTIFACT_FILES, IMAGE, MD5, SHA256
from metal_images.errors import ConfigError
from metal_images.identity import check_os, check_version
from metal_images.sidecar import read_digest
from metal_images.store.plan import FileFacts


@dataclass(frozen=True)
class LocalFile:
    name: str
    path: Path
    facts: FileFacts


@dataclass(frozen=True)
class LocalSet:
    directory: Path
    os: str
    version: str
    files: dict[str, LocalFile]


def _sidecar_digest(path: Path, algorithm: str) -> str:
    return read_digest(path.read_text(), algorithm, what=str(path), file_name=IMAGE)


def _hash_small(path: Path) -> FileFacts:
    data = path.read_bytes()
    return FileFacts(len(data), hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest())


def read_local_set(directory: Path) -> LocalSet:
    """Check that the required files are there and collect their sizes and checksums."""
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no such artifact directory")
    missing = [f.name for f in ARTIFACT_FILES if f.required and not (directory / f.name).is_file()]
    if missing:
        raise ConfigError(f"{directory}: incomplete artifact set, missing {', '.join(missing)} (run export)")
    os_name, version = directory.resolve().parent.name, directory.resolve().name
    try:
        check_os(os_name)
        check_version(version)
    except ConfigError as exc:
        raise ConfigError(f"{directory}: expected .../<os>/<version>/ ({exc})") from exc

    files: dict[str, LocalFile] = {}
    for artifact in ARTIFACT_FILES:
        path = directory / artifact.name
        if not path.is_file():
            continue
        if artifact.name == IMAGE:
            md5, sha = (_sidecar_digest(directory / sidecar, algorithm)
                        for sidecar, algorithm in ((MD5, "md5"), (SHA256, "sha256")))
            facts = FileFacts(path.stat().st_size, sha, md5)
        else:
            facts = _hash_small(path)
        files[artifact.name] = LocalFile(artifact.name, path, facts)
    if files[IMAGE].facts.size == 0:
        raise ConfigError(f"{directory / IMAGE}: empty image")
    return LocalSet(directory, os_name, version, files)
