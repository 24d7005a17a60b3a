"""Image identity and layout: where an image lives and what it is called (contract 5.1, 14).

One grammar for every verb that names an image (export, publish, release, test, cache-sync):

    <channel>/<os>/<version>/          an export below the output folder
    metal-os/<channel>/<os>/<version>/ the same set in a store (upstream's bucket layout)

    channel  stable | <YYYYMMDD> (a release) | pull_requests/<pr>-<branch>
    os       debian, firewall, debian-nvidia           (the catalog's `name`)
    version  12, 22.04, 3.0-ubuntu                     (the catalog's `version`)

and the metal-api id of a released set in both directions: `ImageRef.api_identity()` names
it (`firewall/3.0-ubuntu` of 20261125 -> `firewall-ubuntu-3.0.20261125`), `parse_api_id`
reads any id the way metal-api and cache-sync do (split on the last dash, tolerant semver).

Every name is checked here, with `re.fullmatch` (a trailing newline never passes a `$`) and
with control characters refused outright, so a hostile value never becomes a path or a key.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import total_ordering
from pathlib import Path
from typing import Literal

from metal_images.errors import ConfigError
from metal_images.names import check_printable

STORE_ROOT = "metal-os"
STABLE = "stable"
PULL_REQUESTS = "pull_requests"

# the patterns without anchors; the catalog's JSON schema anchors them itself
OS_PATTERN = r"[a-z][a-z0-9-]*"
VERSION_PATTERN = r"[0-9]+(?:\.[0-9]+)?(?:-[a-z0-9]+)?"  # major[.minor][-suffix]
_VERSION_PARTS = re.compile(r"(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?(?:-(?P<suffix>[a-z0-9]+))?")
_DATE = re.compile(r"[0-9]{8}")
_PULL_REQUEST = re.compile(r"[1-9][0-9]*-[A-Za-z0-9][A-Za-z0-9._-]*")  # upstream: <pr>-<last branch segment>
_SEGMENT = re.compile(r"[A-Za-z0-9._+-]+")
# metal-api's reading of the part after the last dash: v prefix, minor and patch optional
_SEMVER = re.compile(
    r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)

CHANNEL_USAGE = "use stable, pull_requests/<pr>-<branch> or <YYYYMMDD>"
ChannelKind = Literal["stable", "release", "pull_request"]



def parse_date(text: str) -> str:
    """A release date `YYYYMMDD` that exists in the calendar."""
    check_printable(text, "release date")
    if not _DATE.fullmatch(text):
        raise ConfigError(f"release date '{text}': expected YYYYMMDD, e.g. 20261125")
    try:
        dt.datetime.strptime(text, "%Y%m%d")
    except ValueError as exc:
        raise ConfigError(f"release date '{text}': not a calendar date") from exc
    return text


@dataclass(frozen=True, order=True)
class Channel:
    """One top-level folder of the layout: `stable`, a release date, or a pull request."""

    path: str  # relative to the output folder or metal-os/: "stable", "20261125", "pull_requests/42-x"
    kind: ChannelKind

    def __str__(self) -> str:
        return self.path

    @property
    def is_release(self) -> bool:
        return self.kind == "release"

    @classmethod
    def stable(cls) -> Channel:
        return cls(STABLE, "stable")

    @classmethod
    def parse(cls, text: str) -> Channel:
        """`stable`, `YYYYMMDD`, `pull_requests/<pr>-<branch>` (or upstream's bare `<pr>-<branch>`)."""
        check_printable(text, "channel")
        value = text.strip().strip("/")
        if value == STABLE:
            return cls.stable()
        if _DATE.fullmatch(value):
            try:
                dt.datetime.strptime(value, "%Y%m%d")
            except ValueError:
                raise ConfigError(f"invalid channel '{text}': {value} is not a date (YYYYMMDD)") from None
            return cls(value, "release")
        pr = value.removeprefix(f"{PULL_REQUESTS}/")
        if _PULL_REQUEST.fullmatch(pr):
            return cls(f"{PULL_REQUESTS}/{pr}", "pull_request")
        raise ConfigError(f"invalid channel '{text}': {CHANNEL_USAGE} (no slashes in the branch)")


def check_os(name: str) -> str:
    check_printable(name, "os name")
    if not re.fullmatch(OS_PATTERN, name):
        raise ConfigError(f"os name '{name}': expected lower-case letters, digits and dashes (e.g. debian)")
    return name


def check_version(version: str) -> str:
    check_printable(version, "version")
    if not re.fullmatch(VERSION_PATTERN, version):
        raise ConfigError(f"version '{version}': expected major[.minor][-suffix], e.g. 12, 24.04, 3.0-ubuntu")
    return version


def check_segment(segment: str) -> str:
    """One path segment: no separators, no `.`/`..`, nothing hidden, printable only."""
    if segment in ("", ".", "..") or segment.startswith(".") or not _SEGMENT.fullmatch(segment):
        raise ConfigError(f"path segment {segment!r}: refused (empty, hidden, '..' or unusual characters)")
    return segment


def check_key(key: str) -> str:
    """An object key relative to the store root; refuses anything that could escape it."""
    check_printable(key, "store key")
    if key.startswith("/") or "\\" in key:
        raise ConfigError(f"store key {key!r}: refused (absolute or unusual characters)")
    for segment in key.split("/"):
        check_segment(segment)
    return key


def check_prefix(prefix: str) -> str:
    """A folder key: empty (the root) or segments ending with `/`."""
    if prefix == "":
        return prefix
    check_key(prefix.rstrip("/"))
    return prefix if prefix.endswith("/") else prefix + "/"


@dataclass(frozen=True)
class ApiIdentity:
    """A released image as metal-api names it."""

    os: str  # the os part of the id, e.g. firewall-ubuntu
    semver: str  # major.minor.patch, e.g. 3.0.20261125

    @property
    def id(self) -> str:
        return f"{self.os}-{self.semver}"


@dataclass(frozen=True, order=True)
class ImageRef:
    """One artifact set: `<channel>/<os>/<version>/`, below the output folder or `metal-os/`."""

    channel: Channel
    os: str
    version: str

    @classmethod
    def make(cls, channel: Channel, os_name: str, version: str) -> ImageRef:
        return cls(channel, check_os(os_name), check_version(version))

    @classmethod
    def parse_path(cls, text: str) -> ImageRef:
        """`stable/debian/12`, `20261125/debian/12`, `pull_requests/42-x/debian/12` (optionally
        prefixed with `metal-os/`)."""
        check_printable(text, "image path")
        parts = [p for p in text.strip().split("/") if p]
        if parts and parts[0] == STORE_ROOT:
            parts = parts[1:]
        for part in parts:
            check_segment(part)
        if len(parts) == 4 and parts[0] == PULL_REQUESTS:
            parts = [f"{parts[0]}/{parts[1]}", parts[2], parts[3]]
        if len(parts) != 3:
            raise ConfigError(
                f"image path '{text}': expected <channel>/<os>/<version>, e.g. stable/debian/12")
        return cls.make(Channel.parse(parts[0]), parts[1], parts[2])

    @classmethod
    def from_key(cls, key: str) -> tuple[ImageRef, str] | None:
        """Split an object key into (image, file name); None for keys outside the layout."""
        parts = key.split("/")
        if parts[0] != STORE_ROOT:
            return None
        channel_parts = 2 if len(parts) > 1 and parts[1] == PULL_REQUESTS else 1
        if len(parts) != 1 + channel_parts + 3:
            return None
        rest = parts[1 + channel_parts:]
        try:
            channel = Channel.parse("/".join(parts[1:1 + channel_parts]))
            return cls.make(channel, rest[0], rest[1]), rest[2]
        except ConfigError:
            return None

    @property
    def short(self) -> str:
        """`<channel>/<os>/<version>`, what `store diff` and `store ls` show."""
        return f"{self.channel.path}/{self.os}/{self.version}"

    @property
    def prefix(self) -> str:
        """The store's folder key, with a trailing slash."""
        return f"{STORE_ROOT}/{self.short}/"

    def key(self, file_name: str) -> str:
        """The store key of one file of the set."""
        return self.prefix + check_segment(file_name)

    def directory(self, output: Path) -> Path:
        """`<output>/<channel>/<os>/<version>`, the folder an export writes (metal-hammer's URL
        points into the same layout)."""
        return output / self.channel.path / self.os / self.version

    def in_channel(self, channel: Channel) -> ImageRef:
        return ImageRef(channel, self.os, self.version)

    def api_identity(self, date: str | None = None) -> ApiIdentity:
        """The metal-api id of this set released on `date` (default: its own release channel).

        metal-api splits an id on its LAST dash and reads the rest as `major.minor.patch`,
        the release date being the patch: a missing minor becomes `.0`, a version suffix moves
        into the os part (upstream's `firewall-ubuntu-2.0.x`), a leading zero stays (24.04).
        """
        if date is None:
            if not self.channel.is_release:
                raise ConfigError(f"{self.short}: only a dated release has a metal-api id")
            date = self.channel.path
        parse_date(date)
        match = _VERSION_PARTS.fullmatch(self.version)
        if not match:
            raise ConfigError(f"version '{self.version}' of {self.os}: expected major[.minor][-suffix]")
        api_os = f"{self.os}-{match['suffix']}" if match["suffix"] else self.os
        return ApiIdentity(api_os, f"{match['major']}.{match['minor'] or '0'}.{date}")

    def display_name(self, date: str) -> str:
        """`Ubuntu 24.04 20261125` (upstream's naming), `Firewall Ubuntu 3.0 20261125`."""
        words = " ".join(w.capitalize() for w in self.api_identity(date).os.split("-"))
        return f"{words} {self.version.split('-', 1)[0]} {date}"


def find_exports(output: Path, os_name: str, version: str) -> list[ImageRef]:
    """The exports of `<os>/<version>` below `output`, one per channel folder of the layout
    (folders that are no channel are not exports)."""
    check_os(os_name)
    check_version(version)
    if not output.is_dir():
        return []
    folders = [p for p in output.iterdir() if p.is_dir() and p.name != PULL_REQUESTS]
    pulls = output / PULL_REQUESTS
    if pulls.is_dir():
        folders += [p for p in pulls.iterdir() if p.is_dir()]
    found = []
    for folder in sorted(folders):
        relative = folder.relative_to(output).as_posix()
        try:
            channel = Channel.parse(relative)
        except ConfigError:
            continue
        ref = ImageRef(channel, os_name, version)
        # a bare `<pr>-<branch>` folder parses, but is not where the layout puts that channel
        if channel.path == relative and ref.directory(output).is_dir():
            found.append(ref)
    return found


@total_ordering
@dataclass(frozen=True)
class ApiVersion:
    """The version part of a metal-api id, ordered like semver (a release after its pre-releases)."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""

    @property
    def major_minor(self) -> str:
        return f"{self.major}.{self.minor}"

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # numeric pre-release identifiers sort before alphanumeric ones
        parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease.split(".") if p)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, parts)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ApiVersion):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return f"{text}-{self.prerelease}" if self.prerelease else text


def parse_api_version(text: str) -> ApiVersion:
    """metal-api's tolerant semver: `v` prefix allowed, minor and patch optional (`19.04` -> 19.4.0)."""
    match = _SEMVER.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a semantic version")
    major, minor, patch, pre, _build = match.groups()
    return ApiVersion(int(major), int(minor or 0), int(patch or 0), pre or "")


def parse_api_id(image_id: str) -> tuple[str, ApiVersion]:
    """Split an id on its last `-` (metal-api's `GetOsAndSemver`):
    `firewall-ubuntu-3.0.20240913` -> `firewall-ubuntu`, 3.0.20240913."""
    os_name, sep, version = image_id.rpartition("-")
    if not sep or not os_name:
        raise ValueError(f"image id {image_id!r} has no '-<version>' suffix")
    return os_name, parse_api_version(version)
