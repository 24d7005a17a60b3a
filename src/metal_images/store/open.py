"""Turn a store URL into a backend: `file:///path`, a plain path, or `s3://bucket/prefix`."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from metal_images import paths
from metal_images.errors import ConfigError
from metal_images.store.backend import Backend
from metal_images.store.file_backend import FileBackend


def default_store_url() -> str:
    """`METAL_IMAGES_STORE`, else `out/store` in the checkout."""
    return os.environ.get("METAL_IMAGES_STORE") or str(paths.repo_root() / "out" / "store")


def open_store(
    url: str | None = None, *, endpoint_url: str | None = None, create: bool = False, missing_ok: bool = False
) -> Backend:
    """`create`: make a missing store directory; `missing_ok`: treat it as empty (dry runs)."""
    url = url or default_store_url()
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ConfigError(f"store '{url}': s3:// needs a bucket, e.g. s3://images/")
        from metal_images.store.s3_backend import S3Backend  # boto3 loads only when needed

        return S3Backend(parsed.netloc, parsed.path, endpoint_url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ConfigError(f"store '{url}': file:// URLs need an absolute path (file:///srv/images)")
        root = Path(unquote(parsed.path))
    elif parsed.scheme in ("",) or len(parsed.scheme) == 1:
        root = Path(url).expanduser()
    else:
        raise ConfigError(f"store '{url}': unknown scheme '{parsed.scheme}' (use file:// or s3://)")
    if root.exists() and not root.is_dir():
        raise ConfigError(f"store '{url}': {root} is not a directory")
    if not root.exists():
        if missing_ok:
            return FileBackend(root)
        if not create:
            raise ConfigError(f"store '{url}': directory {root} does not exist")
        root.mkdir(parents=True)
    return FileBackend(root)
