"""Where an image lives in a store: channels, image references and safe object keys.

The layout is upstream's bucket layout under `metal-os/`:

    metal-os/stable/<os>/<version>/                       what master builds
    metal-os/<YYYYMMDD>/<os>/<version>/                   a dated release (a copy of stable)
    metal-os/pull_requests/<pr>-<branch>/<os>/<version>/  what a pull request builds

Everything that turns user input into a key goes through here, so a bad channel, a `..`
or an absolute path is refused in one place with one clear line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from metal_images.errors import ConfigError
from metal_images.names import check_printable

ROOT = "metal-os"
STABLE = "stable"
PULL_REQUESTS = "pull_requests"

ChannelKind = Literal["stable", "release", "pull_request"]

_DATE = re.compile(r"^[0-9]{8}$")
_PR = re.compile(r"^[0-9]+-[A-Za-z0-9][A-Za-z0-9._-]*$")  # upstream: the last segment of the branch
_OS = re.compile(r"^[a-z][a-z0-9-]*$")
# the catalog's version pattern: "12", "22.04", "3.0-ubuntu"
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)?(-[a-z0-9]+)?$")
_SEGMENT = re.compile(r"^[A-Za-z0-9._+-]+$")


@dataclass(frozen=True, order=True)
class Channel:
    """One top-level folder of the store: `stable`, a date, or a pull request."""

    path: str  # relative to metal-os/: "stable", "20261125", "pull_requests/42-fix-grub"
    kind: ChannelKind

    def __str__(self) -> str:
        return self.path

    @property
    def is_release(self) -> bool:
        return self.kind == "release"


def parse_date(text: str) -> str:
    """A release date `YYYYMMDD` that exists in the calendar."""
    if not _DATE.fullmatch(check_printable(text, "release date")):
        raise ConfigError(f"release date '{text}': expected YYYYMMDD, e.g. 20261125")
    try:
        dt.datetime.strptime(text, "%Y%m%d")
    except ValueError as exc:
        raise ConfigError(f"release date '{text}': not a calendar date") from exc
    return text


def parse_channel(text: str) -> Channel:
    """`stable`, `YYYYMMDD`, `pull_requests/<pr>-<branch>` (or upstream's `<pr>-<branch>`)."""
    value = check_printable(text, "channel").strip().strip("/")
    if value == STABLE:
        return Channel(STABLE, "stable")
    if _DATE.fullmatch(value):
        return Channel(parse_date(value), "release")
    pr = value.removeprefix(f"{PULL_REQUESTS}/")
    if _PR.fullmatch(pr):
        return Channel(f"{PULL_REQUESTS}/{pr}", "pull_request")
    raise ConfigError(
        f"channel '{text}': expected 'stable', a release date YYYYMMDD or "
        f"'pull_requests/<number>-<branch>' (no slashes in the branch)"
    )


def check_os(name: str) -> str:
    if not _OS.fullmatch(check_printable(name, "os name")):
        raise ConfigError(f"os name '{name}': expected lower-case letters, digits and dashes (e.g. debian)")
    return name


def check_version(version: str) -> str:
    if not _VERSION.fullmatch(check_printable(version, "version")):
        raise ConfigError(f"version '{version}': expected major[.minor][-suffix], e.g. 12, 24.04, 3.0-ubuntu")
    return version


@dataclass(frozen=True, order=True)
class ImageRef:
    """One published artifact set: `metal-os/<channel>/<os>/<version>/`."""

    channel: Channel
    os: str
    version: str

    @property
    def prefix(self) -> str:
        """The folder key, with a trailing slash."""
        return f"{ROOT}/{self.channel.path}/{self.os}/{self.version}/"

    def key(self, file_name: str) -> str:
        return self.prefix + check_segment(file_name)

    @property
    def short(self) -> str:
        """`<channel>/<os>/<version>`, what `store diff` and `store ls` show."""
        return f"{self.channel.path}/{self.os}/{self.version}"

    def in_channel(self, channel: Channel) -> ImageRef:
        return ImageRef(channel, self.os, self.version)


def make_ref(channel: Channel, os_name: str, version: str) -> ImageRef:
    return ImageRef(channel, check_os(os_name), check_version(version))


def parse_image_path(text: str) -> ImageRef:
    """`stable/debian/12`, `20261125/debian/12`, `pull_requests/42-x/debian/12` (optionally
    prefixed with `metal-os/`)."""
    parts = [p for p in check_printable(text, "image path").strip().split("/") if p]
    if parts and parts[0] == ROOT:
        parts = parts[1:]
    for part in parts:
        check_segment(part)
    if len(parts) == 4 and parts[0] == PULL_REQUESTS:
        parts = [f"{parts[0]}/{parts[1]}", parts[2], parts[3]]
    if len(parts) != 3:
        raise ConfigError(f"image path '{text}': expected <channel>/<os>/<version>, e.g. stable/debian/12")
    return make_ref(parse_channel(parts[0]), parts[1], parts[2])


def ref_from_key(key: str) -> tuple[ImageRef, str] | None:
    """Split an object key into (image, file name); None for keys outside the layout."""
    parts = key.split("/")
    if len(parts) < 5 or parts[0] != ROOT:
        return None
    if parts[1] == PULL_REQUESTS:
        if len(parts) != 6:
            return None
        channel_text, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        if len(parts) != 5:
            return None
        channel_text, rest = parts[1], parts[2:]
    try:
        return make_ref(parse_channel(channel_text), rest[0], rest[1]), rest[2]
    except ConfigError:
        return None


def check_segment(segment: str) -> str:
    """One path segment: no separators, no `.`/`..`, nothing hidden, printable only."""
    check_printable(segment, "path segment")
    if segment in ("", ".", "..") or segment.startswith(".") or not _SEGMENT.fullmatch(segment):
        raise ConfigError(f"path segment '{segment}': refused (empty, hidden, '..' or unusual characters)")
    return segment


def check_key(key: str) -> str:
    """An object key relative to the store root; refuses anything that could escape it."""
    check_printable(key, "store key")
    if key.startswith("/") or "\\" in key:
        raise ConfigError(f"store key '{key}': refused (absolute or unusual characters)")
    for segment in key.split("/"):
        check_segment(segment)
    return key


def check_prefix(prefix: str) -> str:
    """A folder key: empty (the root) or segments ending with `/`."""
    if check_printable(prefix, "store prefix") == "":
        return prefix
    check_key(prefix.rstrip("/"))
    return prefix if prefix.endswith("/") else prefix + "/"
