"""Verified downloads, md5 parsing, retries and the on-disk layout (local files only)."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from metal_images.cachesync.download import ChecksumMismatch, download_verified, write_text_atomic
from metal_images.cachesync.layout import CacheLayout, index_cache, remove_empty_dirs, remove_file
from metal_images.cachesync.retry import FetchError, RetryPolicy, TransientError, with_retries
from metal_images.errors import MetalImagesError
from metal_images.sidecar import read_digest


class BrokenSource:
    """Delivers `good` bytes, then fails like a connection reset."""

    def __init__(self, good: bytes) -> None:
        self.stream = io.BytesIO(good)

    def readinto(self, buffer: memoryview) -> int:
        n = self.stream.readinto(buffer[:1000])
        if not n:
            raise TransientError("connection reset")
        return n


def test_download_verified_moves_into_place(tmp_path: Path) -> None:
    data = os.urandom(9 << 20)  # more than the buffers together, not a multiple of one
    final = tmp_path / "cache/images/a/img.tar.lz4"
    seen: list[int] = []
    size, md5 = download_verified(io.BytesIO(data), final, tmp_path / "tmp", hashlib.md5(data).hexdigest(),
                                  inside=tmp_path, what="a", on_bytes=seen.append)
    assert (size, md5) == (len(data), hashlib.md5(data).hexdigest())
    assert final.read_bytes() == data
    assert sum(seen) == len(data)
    assert list((tmp_path / "tmp").iterdir()) == []
    assert final.stat().st_mode & 0o777 == 0o644


def test_renames_are_made_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A power loss cannot be staged here, so record what reaches fsync (the real fsync
    still runs): the data before the rename, the directory holding the rename after it."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        events.append("fsync temp file" if path.endswith(".part") else f"fsync {path}")
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        events.append(f"rename to {Path(dst).name}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    data = b"image" * 1000
    final = tmp_path / "cache/images/a/img.tar.lz4"
    download_verified(io.BytesIO(data), final, tmp_path / "tmp", hashlib.md5(data).hexdigest(),
                      inside=tmp_path, what="a")
    write_text_atomic(final.parent / "img.tar.lz4.md5", "x  img.tar.lz4\n", tmp_path / "tmp", inside=tmp_path)
    assert events == [
        "fsync temp file", "rename to img.tar.lz4", f"fsync {final.parent}",
        "fsync temp file", "rename to img.tar.lz4.md5", f"fsync {final.parent}",
    ]


def test_md5_mismatch_leaves_nothing(tmp_path: Path) -> None:
    final = tmp_path / "img"
    final.write_bytes(b"old good file")
    with pytest.raises(ChecksumMismatch, match="md5 mismatch"):
        download_verified(io.BytesIO(b"corrupted"), final, tmp_path / "tmp", "0" * 32, inside=tmp_path,
                          what="img")
    assert final.read_bytes() == b"old good file"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_broken_stream_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(TransientError):
        download_verified(BrokenSource(b"x" * 5000), tmp_path / "img", tmp_path / "tmp", None,
                          inside=tmp_path, what="img")
    assert not (tmp_path / "img").exists()
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize(("text", "md5"), [
    ("d41d8cd98f00b204e9800998ecf8427e  img.tar.lz4\n", "d41d8cd98f00b204e9800998ecf8427e"),
    ("D41D8CD98F00B204E9800998ECF8427E\n", "d41d8cd98f00b204e9800998ecf8427e"),
    ("d41d8cd98f00b204e9800998ecf8427e *img.tar.lz4", "d41d8cd98f00b204e9800998ecf8427e"),
])
def test_parse_md5(text: str, md5: str) -> None:
    assert read_digest(text, "md5", what="x") == md5


@pytest.mark.parametrize("text", ["", "not-a-sum  img", "d41d8cd98f00b204e9800998ecf8427  img"])
def test_parse_md5_rejects(text: str) -> None:
    with pytest.raises(MetalImagesError, match="not an md5 sum"):
        read_digest(text, "md5", what="store x.md5")


def test_retries_back_off_exponentially_then_give_up() -> None:
    delays: list[float] = []
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        raise TransientError("HTTP 500")

    with pytest.raises(TransientError, match="gave up after 4 attempts: HTTP 500"):
        policy = RetryPolicy(attempts=4, min_delay=0.5, max_delay=1.5)
        with_retries("get x", failing, policy, sleep=delays.append)
    assert len(calls) == 4
    assert delays == [0.5, 1.0, 1.5]


def test_retries_recover_and_do_not_retry_permanent_errors() -> None:
    answers: list[str] = []

    def flaky() -> str:
        answers.append("try")
        if len(answers) == 1:
            raise TransientError("timeout")
        return "ok"

    assert with_retries("x", flaky, RetryPolicy(), sleep=lambda _s: None) == "ok"
    calls: list[int] = []

    def missing() -> None:
        calls.append(1)
        raise FetchError("HTTP 404")

    with pytest.raises(FetchError, match="404"):
        with_retries("x", missing, RetryPolicy(), sleep=lambda _s: None)
    assert calls == [1]


def test_layout_index_and_cleanup(tmp_path: Path) -> None:
    layout = CacheLayout(tmp_path)
    image = layout.images / "metal-os/stable/debian/12/img.tar.lz4"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"12345")
    write_text_atomic(image.with_name("img.tar.lz4.md5"), "ABCDEF0123456789abcdef0123456789  img.tar.lz4\n",
                      layout.tmp, inside=layout.images)
    unverified = layout.images / "metal-os/old/x.img"
    unverified.parent.mkdir(parents=True)
    unverified.write_bytes(b"1")
    index = index_cache(layout.images)
    assert set(index) == {"metal-os/stable/debian/12/img.tar.lz4", "metal-os/old/x.img"}
    assert index["metal-os/stable/debian/12/img.tar.lz4"].md5 == "abcdef0123456789abcdef0123456789"
    assert index["metal-os/old/x.img"].md5 is None
    (layout.tmp / "img.tar.lz4.abc.part").write_bytes(b"partial")
    assert layout.clean_tmp() == 1
    remove_file(layout.images, "metal-os/stable/debian/12/img.tar.lz4")
    remove_empty_dirs(layout.images)
    assert [p.relative_to(layout.images).as_posix() for p in layout.images.rglob("*")] == [
        "metal-os", "metal-os/old", "metal-os/old/x.img"]


def test_one_sync_per_cache_root(tmp_path: Path) -> None:
    layout = CacheLayout(tmp_path)
    held = layout.locked()
    held.__enter__()
    try:
        with pytest.raises(MetalImagesError, match="another cache-sync is running"), layout.locked():
            pass
    finally:
        held.__exit__(None, None, None)
    with layout.locked():  # released again
        pass
