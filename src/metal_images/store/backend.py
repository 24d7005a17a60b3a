"""The one small interface every store backend implements (file://, s3://)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

Progress = Callable[[int], None]  # called with the number of bytes just transferred


@dataclass(frozen=True)
class ObjectInfo:
    """What a backend knows about one stored object without reading it."""

    key: str
    size: int
    modified: dt.datetime
    etag: str = ""
    sha256: str | None = None  # recorded at upload (S3 metadata) when known
    md5: str | None = None  # recorded at upload, or a single-part S3 ETag


class Backend(Protocol):
    url: str

    def stat(self, key: str) -> ObjectInfo | None:
        """The object's size and recorded checksums, or None when it does not exist."""

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object below `prefix` (recursive), in key order."""

    def sha256(self, key: str) -> str | None:
        """The object's sha256: recorded if possible, else computed; None if unknown."""

    def read_bytes(self, key: str) -> bytes:
        """A small object's content (sidecars, packages.txt)."""

    def put_file(self, key: str, source: Path, *, sha256: str, md5: str, progress: Progress | None) -> None:
        """Upload atomically: readers see the old object or the new one, never a part."""

    def copy(self, source_key: str, dest_key: str) -> None:
        """Copy inside the store without downloading (server-side / hardlink)."""

    def delete(self, key: str) -> None:
        """Remove an object; no error if it is already gone."""

    def http_base(self) -> str:
        """The URL under which `metal-os/...` is downloadable, ending with `/`."""
