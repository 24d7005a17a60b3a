"""Pull an image as metal-hammer does: GET the archive, GET `<url>.md5`, compare.

The expected sum is the first whitespace-separated token of the `.md5` file; a mismatch
aborts. `serve_directory()` is the harness's local HTTP server on 127.0.0.1 (`serve`'s app).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from metal_images.errors import MetalImagesError
from metal_images.serve.app import make_app
from metal_images.serve.thread import serving
from metal_images.sidecar import first_token

CHUNK = 1024 * 1024


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 (a free port) and yield the base URL: the same file
    handler as `metal-images serve` (Range, HEAD, no escapes), in a background thread."""
    with serving(make_app(directory)) as base:
        yield base


def _download(url: str, dest: Path) -> str:
    """GET `url` into `dest`; returns the md5 of what was written."""
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with requests.get(url, stream=True, timeout=60) as response:
            if response.status_code >= 400:
                raise MetalImagesError(f"download of {url} failed: HTTP {response.status_code}")
            with open(dest, "wb") as out:
                for chunk in response.iter_content(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    except requests.RequestException as exc:
        raise MetalImagesError(f"download of {url} failed: {exc}") from exc
    return digest.hexdigest()


def expected_md5(text: str, url: str) -> str:
    """The hammer's rule: the text before the first space is the sum."""
    token = first_token(text)
    if not token:
        raise MetalImagesError(f"{url}.md5 is empty")
    return token


def pull(url: str, dest: Path) -> Path:
    """Download `url` to `dest` and verify it against `<url>.md5`; remove it on mismatch."""
    actual = _download(url, dest)
    md5_file = dest.with_name(dest.name + ".md5")
    try:
        _download(url + ".md5", md5_file)
        expected = expected_md5(md5_file.read_text(errors="replace"), url)
    finally:
        md5_file.unlink(missing_ok=True)  # the hammer deletes it as well
    if actual != expected:
        dest.unlink(missing_ok=True)
        raise MetalImagesError(f"md5sum mismatch for {url}: expected {expected}, got {actual}")
    return dest
