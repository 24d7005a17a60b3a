"""A verified, cached download: fetch a URL once, keep it under its sha256, trust nothing else.

The cache (`~/.cache/metal-images/artifacts/<sha256>`) holds a file only after its content
hashed to that name; a cached copy is hashed again before use, so a damaged cache costs a
new download, never a bad image.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import IO

import requests

from metal_images import paths, ui
from metal_images.errors import ConfigError, MetalImagesError
from metal_images.files import atomic_output, file_digest

CHUNK = 1 << 20
# (connect, read) seconds: an unreachable host fails fast, a slow one may take its time
TIMEOUT = (10.0, 60.0)


class Unavailable(Exception):
    """The download could not be made (no route, refused, HTTP error); says why."""


def artifact_cache() -> Path:
    folder = paths.cache_dir() / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _cached(expected: str, label: str) -> Path | None:
    path = artifact_cache() / expected
    if not path.is_file():
        return None
    if file_digest(path) == expected:
        ui.detail(f"{label}: cached {path}")
        return path
    ui.warn(f"{label}: cached copy {path} is damaged; fetching it again")
    path.unlink()
    return None


def _stream_to(url: str, handle: IO[bytes]) -> str:
    """Write the body of `url` to `handle`; return its sha256. Raise Unavailable on failure."""
    digest = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=TIMEOUT) as response:
            if response.status_code != 200:
                raise Unavailable(f"HTTP {response.status_code} {response.reason or ''}".strip())
            for chunk in response.iter_content(CHUNK):
                handle.write(chunk)
                digest.update(chunk)
    except (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidURL) as exc:
        raise ConfigError(f"invalid artifact URL {url!r}: {exc}") from exc
    except requests.RequestException as exc:
        raise Unavailable(_short_reason(exc)) from exc
    return digest.hexdigest()


def _short_reason(exc: BaseException) -> str:
    """requests wraps urllib3 wraps socket errors; the innermost one says what happened."""
    cause: BaseException = exc
    for _ in range(8):
        reason = getattr(cause, "reason", None)
        first_arg = cause.args[0] if cause.args else None
        inner = next((c for c in (reason, first_arg, cause.__cause__, cause.__context__)
                      if isinstance(c, BaseException)), None)
        if inner is None:
            break
        cause = inner
    text = str(cause) or type(cause).__name__
    # urllib3 starts its messages with the repr of the connection object
    text = re.sub(r"^<[^>]*>: ", "", text.splitlines()[0])
    return text[:200]


def fetch_verified(url: str, expected: str, label: str) -> Path:
    """Return a local file whose sha256 is `expected`, downloading `url` if not cached.

    Raises Unavailable when the URL cannot be fetched, MetalImagesError when what it
    served does not match `expected` (then nothing is kept).
    """
    cached = _cached(expected, label)
    if cached is not None:
        return cached
    target = artifact_cache() / expected
    ui.info(f"{label}: downloading {url}")
    with atomic_output(target, suffix=".part") as handle:  # kept only if the sha256 matches
        actual = _stream_to(url, handle)
        if actual != expected:
            raise MetalImagesError(f"{label}: sha256 mismatch for {url}: expected {expected}, got {actual}")
    return target
