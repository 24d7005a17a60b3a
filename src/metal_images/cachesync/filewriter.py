"""Append large buffers to a new file, bypassing the page cache where the file system allows.

A verified download has to be fsynced before it is renamed into place. Written through the
page cache, every byte is copied into freshly allocated cache pages (on a VM often the
single most expensive step of a download) and the final fsync then waits for the whole file
to be written back. With O_DIRECT the disk reads straight from our own reused buffers: no
copy, no cache pages, and the fsync only has metadata and the device cache left to flush.

Direct I/O needs block-aligned memory, lengths and offsets. The downloader's buffers are
page-aligned and full except the very last one, so only the tail goes through the page cache
(O_DIRECT is switched off for it). Where O_DIRECT is refused (some file systems, odd
alignment) the writer falls back to buffered writes and starts writeback every
WRITEBACK_EVERY bytes so the final fsync stays short.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os

ALIGNMENT = 4096  # covers 512-byte and 4 KiB logical blocks
WRITEBACK_EVERY = 64 << 20


def aligned_buffer(size: int) -> memoryview:
    """A page-aligned, writable buffer of `size` bytes (anonymous memory, usable for O_DIRECT)."""
    return memoryview(mmap.mmap(-1, size))


def _set_direct(fd: int, on: bool) -> bool:
    """Switch O_DIRECT on or off for `fd`; False when the file system refuses it."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | os.O_DIRECT) if on else (flags & ~os.O_DIRECT))
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return False
        raise
    return True


class FileWriter:
    """Appends to `fd` (a new, empty file): direct I/O for aligned data, buffered for the rest."""

    def __init__(self, fd: int, *, direct: bool = True) -> None:
        self.fd = fd
        self.direct = direct and _set_direct(fd, True)
        self.written = 0
        self.flushed = 0  # buffered mode: bytes whose writeback has been started

    def write(self, data: memoryview) -> None:
        while data:
            if self.direct:
                aligned = len(data) - len(data) % ALIGNMENT
                if aligned and self.written % ALIGNMENT == 0:
                    try:
                        written = os.write(self.fd, data[:aligned])
                    except OSError as exc:
                        if exc.errno != errno.EINVAL:
                            raise
                        self._buffered()  # alignment the device does not accept: go the slow way
                        continue
                    data = data[written:]
                    self.written += written
                    continue
                self._buffered()  # an unaligned tail: the end of the file
            written = os.write(self.fd, data)
            data = data[written:]
            self.written += written
            self._start_writeback()

    def _buffered(self) -> None:
        self.direct = False
        _set_direct(self.fd, False)
        self.flushed = self.written  # nothing before this point is in the page cache

    def _start_writeback(self) -> None:
        if self.written - self.flushed >= WRITEBACK_EVERY:
            # asks the kernel to write the dirty range back now, without waiting for it
            os.posix_fadvise(self.fd, self.flushed, self.written - self.flushed, os.POSIX_FADV_DONTNEED)
            self.flushed = self.written
