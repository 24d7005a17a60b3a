"""A verified download: stream to a temp file, hash while streaming, rename into place.

The socket is read into a few fixed, page-aligned buffers; one thread hashes and another
writes each buffer (direct I/O, see filewriter) while the next one is being received
(hashlib, socket reads and file writes release the GIL). A download costs about
max(network, hash, disk) and memory stays constant whatever the size. Nothing appears at
the final path until the checksum matched and the file was fsynced.

The strongest checksum the store offers is the one verified: sha256 where the store has
the `.sha256`, else md5. On CPUs with SHA extensions sha256 is also the faster one (1.7 GB/s
against md5's 0.7 GB/s on one core here), and the hash is a download's ceiling.
"""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Callable
from pathlib import Path

from metal_images.cachesync.filewriter import FileWriter, aligned_buffer
from metal_images.cachesync.pipeline import BufferPipeline
from metal_images.cachesync.retry import TransientError
from metal_images.cachesync.store import Source
from metal_images.errors import MetalImagesError
from metal_images.files import atomic_output
from metal_images.speed import SpeedGuard, SpeedRule, TooSlow

BUFFER_SIZE = 4 << 20
BUFFERS = 4


class DiskFullError(MetalImagesError):
    """The cache file system has no room left; retrying right away will not help."""


class EscapeError(MetalImagesError):
    """A cache path that resolves outside its cache root (a planner bug or a planted symlink)."""


def check_inside(path: Path, root: Path) -> Path:
    """`path` if its folder, symlinks resolved, lies inside `root`; else EscapeError.

    The last check before anything is renamed into the cache: whatever the planner let
    through, nothing is written outside the cache root."""
    resolved_root = root.resolve()
    resolved = path.parent.resolve() / path.name
    outside = not resolved.is_relative_to(resolved_root) or resolved == resolved_root
    if path.name in ("", ".", "..") or outside:
        raise EscapeError(f"refusing to write {path}: it is not inside the cache {root}")
    return path


class ChecksumMismatch(TransientError):
    """The bytes received do not match the store's checksum (a corrupted transfer or object)."""


class IncompleteDownload(TransientError):
    """Fewer (or more) bytes arrived than the store announced: a cut-off transfer."""


def _fill(source: Source, buffer: memoryview, guard: SpeedGuard | None) -> int:
    """Read until the buffer is full or the stream ends (the guard sees every chunk)."""
    filled = 0
    while filled < len(buffer):
        n = source.readinto(buffer[filled:])
        if not n:
            break
        if guard is not None:
            guard.count(n)
        filled += n
    return filled


def stream_to_file(source: Source, fd: int, on_bytes: Callable[[int], None] | None = None,
                   guard: SpeedGuard | None = None, algorithm: str = "md5") -> tuple[int, str]:
    """Copy `source` to `fd`, hashing and writing in helper threads; returns (bytes, hex digest)."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    writer = FileWriter(fd)
    buffers = [aligned_buffer(BUFFER_SIZE) for _ in range(BUFFERS)]
    total = 0
    with BufferPipeline(buffers, [(algorithm, digest.update), ("write", writer.write)]) as pipe:
        while True:
            index = pipe.acquire()
            length = _fill(source, buffers[index], guard)
            if not length:
                break
            pipe.submit(index, length)
            total += length
            if on_bytes:
                on_bytes(length)
    return total, digest.hexdigest()


def download_verified(
    source: Source,
    final: Path,
    tmp_dir: Path,
    expected_md5: str | None,
    *,
    inside: Path,
    what: str,
    on_bytes: Callable[[int], None] | None = None,
    durable: bool = True,
    expected_size: int | None = None,
    speed: SpeedRule | None = None,
    expected_sha256: str | None = None,
) -> tuple[int, str]:
    """Download into `tmp_dir`, verify, fsync and rename to `final`, which must lie in
    `inside` (the cache root, checked after resolving). Returns (bytes, the hex digest
    verified: sha256 when `expected_sha256` is given, else md5).

    `durable=False` skips the fsync (only the benchmark uses it, to show what it costs):
    without it a power loss could leave a renamed but empty file whose sidecar says "verified".

    A download counts only when its byte count equals `expected_size` (the announced
    length) when that is known: kernels and boot images have no md5 to catch a cut-off.
    `speed` stops a transfer that trickles (retried like a timeout).
    """
    algorithm, expected = ("sha256", expected_sha256) if expected_sha256 else ("md5", expected_md5)
    try:
        def contained() -> None:
            check_inside(final, inside)
            final.parent.mkdir(parents=True, exist_ok=True)
            check_inside(final, inside)  # again: a folder may have been swapped for a symlink meanwhile

        with atomic_output(final, temp_dir=tmp_dir, suffix=".part", durable=durable,
                           before_replace=contained) as handle:
            guard = SpeedGuard(speed, what) if speed is not None else None
            try:
                size, digest = stream_to_file(source, handle.fileno(), on_bytes, guard, algorithm)
            except TooSlow as exc:
                raise TransientError(exc.message) from exc
            if expected_size is not None and size != expected_size:
                raise IncompleteDownload(f"{what}: incomplete: got {size} of {expected_size} bytes")
            if expected is not None and digest != expected:
                raise ChecksumMismatch(
                    f"{what}: {algorithm} mismatch: got {digest}, the store says {expected}")
        return size, digest
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            message = f"cache disk full: no space left on {tmp_dir} while downloading {what}"
            raise DiskFullError(message) from exc
        raise MetalImagesError(f"{what}: cannot write below {tmp_dir}: {exc.strerror or exc}") from exc


def write_text_atomic(path: Path, text: str, tmp_dir: Path, *, inside: Path) -> None:
    """Write a small file (the .md5 sidecar) inside `inside`, durably, through a temp file and rename."""
    check_inside(path, inside)
    try:
        with atomic_output(path, temp_dir=tmp_dir, suffix=".part", durable=True) as handle:
            handle.write(text.encode())
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskFullError(f"cache disk full: no space left on {tmp_dir} while writing {path}") from exc
        raise
