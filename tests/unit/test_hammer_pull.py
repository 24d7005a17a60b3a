"""Pull with the hammer's md5 rule, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from metal_images.errors import MetalImagesError
from metal_images.hammer.pull import expected_md5, pull, serve_directory


def _publish(directory: Path, data: bytes, md5_text: str | None = None) -> None:
    (directory / "img.tar.lz4").write_bytes(data)
    text = md5_text if md5_text is not None else f"{hashlib.md5(data).hexdigest()}  img.tar.lz4\n"
    (directory / "img.tar.lz4.md5").write_text(text)


def test_pull_verifies_md5(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    _publish(served, b"image bytes" * 1000)
    with serve_directory(served) as base:
        dest = pull(f"{base}/img.tar.lz4", tmp_path / "os.tgz")
    assert dest.read_bytes() == b"image bytes" * 1000
    assert not (tmp_path / "os.tgz.md5").exists()  # removed, like the hammer does


def test_md5_mismatch_aborts(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    _publish(served, b"image", md5_text="0" * 32 + "  img.tar.lz4\n")
    with serve_directory(served) as base, pytest.raises(MetalImagesError, match="md5sum mismatch"):
        pull(f"{base}/img.tar.lz4", tmp_path / "os.tgz")
    assert not (tmp_path / "os.tgz").exists()


def test_missing_md5_is_an_http_error(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "img.tar.lz4").write_bytes(b"x")
    with serve_directory(served) as base, pytest.raises(MetalImagesError, match="HTTP 404"):
        pull(f"{base}/img.tar.lz4", tmp_path / "os.tgz")


def test_first_token_is_the_sum() -> None:
    assert expected_md5("ABCDEF  img.tar.lz4\n", "u") == "abcdef"
    assert expected_md5("abcdef\n", "u") == "abcdef"
    with pytest.raises(MetalImagesError, match="empty"):
        expected_md5("  \n", "u")
