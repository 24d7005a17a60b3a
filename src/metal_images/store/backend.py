"""The one small interface every store backend implements (file://, s3://)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from metal_images.errors import MetalImagesError

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


class UploadMismatch(MetalImagesError):
    """The bytes uploaded do not hash to what the caller said they are (the file changed)."""


def check_uploaded(key: str, source: Path, expected_md5: str, uploaded_md5: str) -> None:
    """Raise UploadMismatch when an expected md5 is given and the upload's differs."""
    if expected_md5 and uploaded_md5 != expected_md5:
        raise UploadMismatch(
            f"{source}: changed while publishing it: the bytes sent hash to md5 {uploaded_md5}, "
            f"its checksum says {expected_md5}; {key} was not stored (re-export, then publish)"
        )


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

    def put_file(self, key: str, source: Path, *, sha256: str, md5: str, progress: Progress | None) -> str:
        """Upload atomically: readers see the old object or the new one, never a part. The
        bytes are md5-hashed as they are sent; when `md5` is given and differs, nothing is
        stored (UploadMismatch). Returns the md5 of what was stored."""

    def set_lock(self, prefix: str) -> AbstractContextManager[None]:
        """Exclusive right to change the set at `prefix` (file stores: a lock file; S3 has
        none, publish compares before it completes a set instead)."""

    def clean_leftovers(self, prefix: str, before: dt.datetime) -> Sequence[str]:
        """Remove what killed uploads below `prefix` left (temp files, unfinished multipart
        uploads) that were started before `before`; returns what went."""

    def copy(self, source_key: str, dest_key: str) -> None:
        """Copy inside the store without downloading (server-side / hardlink)."""

    def delete(self, key: str) -> None:
        """Remove an object; no error if it is already gone."""

    def http_base(self) -> str:
        """The URL under which `metal-os/...` is downloadable, ending with `/`."""
