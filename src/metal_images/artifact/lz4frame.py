"""One LZ4 frame written by several threads, hashed while it is written.

The frame uses independent 4 MiB blocks (the `lz4` tool's default layout), so each block
can be compressed on its own: python-lz4 releases the GIL while compressing, a thread pool
compresses blocks side by side and a writer thread puts them in order into the file while
md5, sha256 and sha512 of the compressed bytes are computed. A bounded queue keeps memory
flat whatever the size of the input. The result is byte-identical for any thread count.

How the frame is stitched together: every block is compressed as a frame of its own by
python-lz4 (so level handling, the stored-uncompressed fallback and the block format are
the library's); its 7-byte header and end mark are cut off (the library may pick a smaller block size
for a short chunk, which only changes the header) and the blocks are framed by one header
(4 MiB independent blocks, content checksum) and one end mark + xxh32 content checksum,
so `lz4 -d` and metal-hammer's reader verify the whole content.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import struct
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO

import lz4.frame
import xxhash

from metal_images.errors import MetalImagesError

BLOCK_SIZE = 4 << 20  # matches BLOCKSIZE_MAX4MB, one frame block per chunk
END_MARK = b"\0\0\0\0"
HEADER_SIZE = 7  # magic(4) FLG BD HC: no content size, no dictionary id
MAGIC = b"\x04\x22\x4d\x18"
MIN_LEVEL, MAX_LEVEL = 0, 12  # lz4frame: <3 fast mode, 3..12 high compression


def _frame(data: bytes | bytearray, level: int, content_checksum: bool) -> bytes:
    out: bytes = lz4.frame.compress(
        data,
        compression_level=level,
        block_size=lz4.frame.BLOCKSIZE_MAX4MB,
        block_linked=False,
        content_checksum=content_checksum,
        block_checksum=False,
        store_size=False,
    )
    return out


def frame_header() -> bytes:
    """Magic, FLG (version 01, independent blocks, content checksum), BD (4 MiB blocks) and
    the header checksum: the second byte of xxh32 over FLG and BD (LZ4 frame format 1.6.x)."""
    descriptor = bytes([0b0110_0100, 0b0111_0000])
    return MAGIC + descriptor + bytes([(xxhash.xxh32_intdigest(descriptor) >> 8) & 0xFF])


def compress_block(data: bytes | bytearray, level: int) -> bytes:
    """The block of one chunk (size word + data), without frame header and end mark."""
    out = _frame(data, level, False)
    if out[:4] != MAGIC or out[-4:] != END_MARK:
        raise MetalImagesError("python-lz4 wrote an unexpected frame layout")
    return out[HEADER_SIZE:-4]


@dataclass(frozen=True)
class Digests:
    md5: str
    sha256: str
    sha512: str
    size: int  # compressed bytes written
    content_size: int  # uncompressed bytes


class ParallelLZ4Writer:
    """A file-like sink: write() the uncompressed stream, close() to finish the frame."""

    def __init__(self, out: BinaryIO, *, level: int, threads: int, inflight: int | None = None) -> None:
        if not MIN_LEVEL <= level <= MAX_LEVEL:
            raise MetalImagesError(f"lz4 level {level} out of range {MIN_LEVEL}..{MAX_LEVEL}")
        self._out = out
        self._level = level
        self._pool = ThreadPoolExecutor(max(threads, 1), thread_name_prefix="lz4")
        depth = inflight or 2 * max(threads, 1) + 2  # blocks in flight: bounds the memory
        self._queue: queue.Queue[Future[bytes] | None] = queue.Queue(maxsize=depth)
        self._buffer = bytearray()
        self._content = xxhash.xxh32()
        self._content_size = 0
        self._hashes = (hashlib.md5(), hashlib.sha256(), hashlib.sha512())
        self._written = 0
        self._failure: BaseException | None = None
        self._stopping = False
        self._writer = threading.Thread(target=self._drain, name="lz4-writer", daemon=True)
        self._writer.start()
        self._emit(frame_header())
        self._digests: Digests | None = None

    # -- the writer thread: futures in order -> file + hashes
    def _emit(self, data: bytes) -> None:
        done: Future[bytes] = Future()
        done.set_result(data)
        self._put(done)

    def _put(self, item: Future[bytes] | None) -> None:
        while True:
            if self._failure is not None:
                raise self._failure
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _drain(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                if self._stopping:
                    continue
                data = item.result()
                self._out.write(data)
                for h in self._hashes:
                    h.update(data)
                self._written += len(data)
        except BaseException as exc:  # handed to the producer, which re-raises it
            self._failure = exc
            self._stopping = True
            while self._queue.get() is not None:  # unblock the producer until it stops
                pass

    # -- the producer side
    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._buffer += data
        if len(self._buffer) >= BLOCK_SIZE:
            self._flush_full_blocks()
        return len(data)

    def _submit(self, chunk: bytes) -> None:
        self._content.update(chunk)
        self._content_size += len(chunk)
        self._put(self._pool.submit(compress_block, chunk, self._level))

    def _flush_full_blocks(self) -> None:
        view = memoryview(self._buffer)
        full = len(self._buffer) // BLOCK_SIZE * BLOCK_SIZE
        for start in range(0, full, BLOCK_SIZE):
            self._submit(bytes(view[start : start + BLOCK_SIZE]))
        view.release()
        del self._buffer[:full]

    def close(self) -> Digests:
        if self._digests is not None:
            return self._digests
        try:
            if self._buffer:
                self._submit(bytes(self._buffer))
                self._buffer.clear()
            self._emit(END_MARK + struct.pack("<I", self._content.intdigest()))
            self._put(None)
            self._writer.join()
            if self._failure is not None:
                raise self._failure
        finally:
            self.abort()
        md5, sha256, sha512 = (h.hexdigest() for h in self._hashes)
        self._digests = Digests(md5, sha256, sha512, self._written, self._content_size)
        return self._digests

    def abort(self) -> None:
        """Stop the threads (after a failure the output is incomplete: the caller drops it)."""
        if self._writer.is_alive():
            self._stopping = True
            while True:
                try:
                    self._queue.put_nowait(None)
                    break
                except queue.Full:
                    with contextlib.suppress(queue.Empty):
                        self._queue.get_nowait()
            self._writer.join()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParallelLZ4Writer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
