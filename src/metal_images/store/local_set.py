"""An exported artifact set on disk: `<output>/<channel>/<os>/<version>/`, checked and hashed.

The image's checksums come from its sidecars (export computed them while writing it; no
second pass over a GiB here); the small files are hashed directly.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from metal_images.artifact.registry import ARTIFACT_FILES, IMAGE, MD5, SHA256
from metal_images.errors import ConfigError
from metal_images.identity import check_os, check_version
from metal_images.store.plan import FileFacts

_SIDECAR = re.compile(r"^(?P<sum>[0-9a-f]+) [ *](?P<name>\S+)\s*$")


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


def read_sidecar(text: str, where: str, length: int) -> str:
    """`<hex>  img.tar.lz4` (md5sum/sha256sum format) -> the hex digest."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    match = _SIDECAR.match(first)
    if not match or len(match["sum"]) != length:
        raise ConfigError(f"{where}: not in checksum format '<hex>  {IMAGE}'")
    if Path(match["name"]).name != IMAGE:
        raise ConfigError(f"{where}: names '{match['name']}', expected {IMAGE}")
    return match["sum"]


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
            md5 = read_sidecar((directory / MD5).read_text(), str(directory / MD5), 32)
            sha = read_sidecar((directory / SHA256).read_text(), str(directory / SHA256), 64)
            facts = FileFacts(path.stat().st_size, sha, md5)
        else:
            facts = _hash_small(path)
        files[artifact.name] = LocalFile(artifact.name, path, facts)
    if files[IMAGE].facts.size == 0:
        raise ConfigError(f"{directory / IMAGE}: empty image")
    return LocalSet(directory, os_name, version, files)
