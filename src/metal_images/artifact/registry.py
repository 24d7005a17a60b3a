"""The one list of files an exported image consists of (KIWI's Result, in spirit).

Export writes them, check and publish read them, release copies them: nobody re-derives
the names. Publish order matters: the image first, the `.md5` last, so a half-published
image is never picked up by metal-hammer or cache-sync (they need the `.md5`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["image", "checksum", "manifest"]

IMAGE = "img.tar.lz4"
MD5 = f"{IMAGE}.md5"
SHA256 = f"{IMAGE}.sha256"
SHA512 = f"{IMAGE}.sha512"
PACKAGES = "packages.txt"
SBOM = "sbom.cdx.json"
IMAGE_INFO = "image-info.json"
BUILD_INFO = "build.json"


@dataclass(frozen=True)
class ArtifactFile:
    name: str
    kind: Kind
    required: bool
    description: str


# in publish order: the image first, the .md5 (the "complete" marker) last
ARTIFACT_FILES: tuple[ArtifactFile, ...] = (
    ArtifactFile(IMAGE, "image", True, "the root tree: tar in the LZ4 frame format"),
    ArtifactFile(SHA256, "checksum", True, "sha256sum format"),
    ArtifactFile(SHA512, "checksum", True, "sha512sum format (metal-hammer's open request)"),
    ArtifactFile(PACKAGES, "manifest", True, "dpkg -l / rpm -qa"),
    ArtifactFile(SBOM, "manifest", False, "CycloneDX SBOM from the package database"),
    ArtifactFile(IMAGE_INFO, "manifest", False, "os-release, kernel, packages, services, users, size"),
    ArtifactFile(BUILD_INFO, "manifest", False, "stage keys, parent, args, tool versions"),
    ArtifactFile(MD5, "checksum", True, "md5sum format; written last: marks the image complete"),
)


def publish_order() -> list[str]:
    return [f.name for f in ARTIFACT_FILES]
