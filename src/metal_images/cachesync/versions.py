"""Image ids to (os, version), the way metal-api and cache-sync read them (`GetOsAndSemver`).

The version is everything after the LAST `-` and must be a semantic version in the
tolerant reading: `v` prefix allowed, minor and patch optional, leading zeros accepted
(`ubuntu-19.04` -> os `ubuntu`, version 19.4.0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_SEMVER = re.compile(
    r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: str = ""

    @property
    def major_minor(self) -> str:
        return f"{self.major}.{self.minor}"

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # a release sorts after its pre-releases; numeric identifiers before alphanumeric
        parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease.split(".") if p)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, parts)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return f"{text}-{self.prerelease}" if self.prerelease else text


def parse_version(text: str) -> Version:
    match = _SEMVER.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a semantic version")
    major, minor, patch, pre, _build = match.groups()
    return Version(int(major), int(minor or 0), int(patch or 0), pre or "")


def os_and_version(image_id: str) -> tuple[str, Version]:
    """Split an id on its last `-`: `firewall-ubuntu-3.0.20240913` -> `firewall-ubuntu`, 3.0.20240913."""
    if not image_id.isprintable():
        raise ValueError(f"image id {image_id!r} contains a control character")
    os_name, sep, version = image_id.rpartition("-")
    if not sep or not os_name:
        raise ValueError(f"image id {image_id!r} has no '-<version>' suffix")
    return os_name, parse_version(version)
