"""The parallel LZ4 frame writer: valid for the reference tool, same bytes for any thread
count, digests of what was written, memory bounded by the blocks in flight."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tracemalloc
from pathlib import Path

import lz4.frame
import pytest

from metal_images.artifact.lz4frame import BLOCK_SIZE, ParallelLZ4Writer
from metal_images.errors import MetalImagesError


def compress(data: bytes, *, level: int = 4, threads: int = 2, pieces: int = 7) -> tuple[bytes, object]:
    out = io.BytesIO()
    with ParallelLZ4Writer(out, level=level, threads=threads) as writer:
        step = max(len(data) // pieces, 1)
        for start in range(0, len(data), step):
            writer.write(data[start : start + step])
        digests = writer.close()
    return out.getvalue(), digests


def sample_data(size: int) -> bytes:
    # compressible but not trivial: repeated text with a running counter
    line = b"metal-images %08d the quick brown fox jumps over the lazy dog\n"
    return b"".join(line % i for i in range(size // len(line) + 1))[:size]


@pytest.mark.parametrize("size", [0, 1, BLOCK_SIZE, 2 * BLOCK_SIZE + 12345])
def test_roundtrip_with_python_lz4_and_digests(size: int) -> None:
    data = sample_data(size)
    compressed, digests = compress(data)
    assert lz4.frame.decompress(compressed) == data
    assert digests.md5 == hashlib.md5(compressed).hexdigest()  # type: ignore[attr-defined]
    assert digests.sha512 == hashlib.sha512(compressed).hexdigest()  # type: ignore[attr-defined]
    assert digests.size == len(compressed)  # type: ignore[attr-defined]
    assert digests.content_size == size  # type: ignore[attr-defined]


def test_lz4_tool_accepts_and_verifies_the_checksum(tmp_path: Path) -> None:
    data = sample_data(BLOCK_SIZE + 999)
    compressed, _ = compress(data, level=9)
    path = tmp_path / "x.lz4"
    path.write_bytes(compressed)
    out = subprocess.run(["lz4", "-dc", str(path)], capture_output=True, check=True).stdout
    assert out == data
    # flip one byte of the content checksum: the tool must notice
    broken = bytearray(compressed)
    broken[-1] ^= 0xFF
    path.write_bytes(bytes(broken))
    assert subprocess.run(["lz4", "-t", str(path)], capture_output=True).returncode != 0


def test_same_bytes_for_any_thread_count() -> None:
    data = sample_data(3 * BLOCK_SIZE + 17)
    one, _ = compress(data, threads=1, pieces=3)
    two, _ = compress(data, threads=2, pieces=11)
    four, _ = compress(data, threads=4, pieces=1)
    assert one == two == four


def test_level_changes_size_not_content() -> None:
    data = sample_data(BLOCK_SIZE)
    fast, _ = compress(data, level=0)
    high, _ = compress(data, level=9)
    assert len(high) < len(fast)
    assert lz4.frame.decompress(fast) == lz4.frame.decompress(high) == data


def test_incompressible_blocks_are_stored() -> None:
    data = os.urandom(BLOCK_SIZE + 100)
    compressed, _ = compress(data)
    assert lz4.frame.decompress(compressed) == data
    assert len(compressed) < len(data) + 64


def test_bad_level_is_one_clear_error() -> None:
    with pytest.raises(MetalImagesError, match="level 99"):
        ParallelLZ4Writer(io.BytesIO(), level=99, threads=1)


def test_write_failure_surfaces_and_threads_stop() -> None:
    class Full(io.RawIOBase):
        def write(self, b: object) -> int:
            raise OSError(28, "No space left on device")

    data = sample_data(6 * BLOCK_SIZE)
    with pytest.raises(OSError, match="No space"), ParallelLZ4Writer(Full(), level=1, threads=2) as writer:  # type: ignore[arg-type]
        for start in range(0, len(data), BLOCK_SIZE // 2):
            writer.write(data[start : start + BLOCK_SIZE // 2])
        writer.close()


def test_memory_stays_flat() -> None:
    class Discard(io.RawIOBase):
        def write(self, b: object) -> int:
            return len(b)  # type: ignore[arg-type]

    piece = sample_data(BLOCK_SIZE // 4)
    tracemalloc.start()
    try:
        with ParallelLZ4Writer(Discard(), level=1, threads=2) as writer:  # type: ignore[arg-type]
            for _ in range(200):  # 200 MiB through the writer
                writer.write(piece)
            writer.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 80 << 20, f"peak {peak / 2**20:.0f} MiB for 200 MiB of input"
