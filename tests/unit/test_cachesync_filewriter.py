"""Direct-I/O file writing and the buffer pipeline behind verified downloads."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import threading
from pathlib import Path

import pytest

from metal_images.cachesync.filewriter import ALIGNMENT, FileWriter, aligned_buffer
from metal_images.cachesync.pipeline import BufferPipeline


def _write_chunks(path: Path, chunks: list[bytes], *, direct: bool) -> FileWriter:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        writer = FileWriter(fd, direct=direct)
        buffer = aligned_buffer(max(len(c) for c in chunks))
        for chunk in chunks:
            buffer[: len(chunk)] = chunk
            writer.write(buffer[: len(chunk)])
        os.fsync(fd)
        assert not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT, "O_DIRECT must be off after the tail"
    finally:
        os.close(fd)
    return writer


@pytest.mark.parametrize("direct", [True, False])
def test_aligned_chunks_then_an_unaligned_tail(tmp_path: Path, direct: bool) -> None:
    chunks = [os.urandom(1 << 20), os.urandom(1 << 20), os.urandom(12345)]
    path = tmp_path / "out"
    writer = _write_chunks(path, chunks, direct=direct)
    assert path.read_bytes() == b"".join(chunks)
    assert writer.written == sum(map(len, chunks))


def test_a_short_file_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "out"
    _write_chunks(path, [b"tiny"], direct=True)
    assert path.read_bytes() == b"tiny"


def test_direct_io_is_used_where_the_file_system_has_it(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        writer = FileWriter(fd)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        # both or neither: the writer's idea of the mode matches the descriptor
        assert writer.direct == bool(flags & os.O_DIRECT)
        writer.write(aligned_buffer(ALIGNMENT))
        assert os.fstat(fd).st_size == ALIGNMENT
    finally:
        os.close(fd)


def test_aligned_buffer_is_page_aligned() -> None:
    import ctypes

    buffer = aligned_buffer(3 * ALIGNMENT)
    address = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
    assert address % ALIGNMENT == 0 and len(buffer) == 3 * ALIGNMENT


def test_pipeline_feeds_every_consumer_in_order() -> None:
    data = os.urandom(5 * 4096 + 17)
    buffers = [aligned_buffer(4096) for _ in range(2)]
    digest = hashlib.md5(usedforsecurity=False)
    copied = bytearray()
    with BufferPipeline(buffers, [("md5", digest.update), ("copy", copied.extend)]) as pipe:
        for offset in range(0, len(data), 4096):
            index = pipe.acquire()
            piece = data[offset:offset + 4096]
            buffers[index][: len(piece)] = piece
            pipe.submit(index, len(piece))
    assert bytes(copied) == data
    assert digest.hexdigest() == hashlib.md5(data).hexdigest()


@pytest.mark.timeout(10)
def test_a_failing_consumer_stops_the_producer() -> None:
    calls: list[int] = []

    def disk_full(view: memoryview) -> None:
        calls.append(len(view))
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")

    buffers = [aligned_buffer(4096) for _ in range(2)]
    submitted = 0
    consumers = [("write", disk_full), ("md5", lambda view: None)]
    with pytest.raises(OSError, match="No space left"), BufferPipeline(buffers, consumers) as pipe:
        for _ in range(100):
            pipe.submit(pipe.acquire(), 4096)
            submitted += 1
    assert submitted < 100, "the producer went on after the consumer failed"
    assert len(calls) == 2, "a consumer went on after it failed"
    assert not any(t.name in ("write", "md5") for t in threading.enumerate()), "threads left running"


def test_an_error_after_the_last_submit_is_raised_on_exit() -> None:
    def fail(view: memoryview) -> None:
        raise OSError(errno.EIO, "Input/output error")

    pipeline = BufferPipeline([aligned_buffer(4096)], [("write", fail)])
    with pytest.raises(OSError, match="Input/output"), pipeline as pipe:
        pipe.submit(pipe.acquire(), 10)
