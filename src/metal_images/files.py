"""Writing files so nobody ever sees half of one, and hashing them.

A temporary file beside the target (same file system), renamed over it when complete: a
reader finds the old file or the new one. `durable=True` adds what survives a power loss:
the data fsynced before the rename and the directory fsynced after it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_output(target: Path, *, mode: int = 0o644, durable: bool = False,
                  temp_dir: Path | None = None, suffix: str = ".tmp",
                  before_replace: Callable[[], None] | None = None) -> Iterator[BinaryIO]:
    """Yield a binary handle whose content becomes `target` when the block ends without error.

    An exception inside the block (a failed download, a checksum mismatch) removes the
    temporary file and leaves `target` as it was. `temp_dir` must be on target's file system.
    `before_replace` runs last before the rename (a containment check); raising aborts it.
    """
    folder = temp_dir or target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=suffix)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), mode)  # mkstemp's 0600 would hide the file from readers
            if durable:
                os.fsync(handle.fileno())
        if before_replace:
            before_replace()
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_directory(target.parent)


def atomic_write(target: Path, data: str | bytes, *, mode: int = 0o644, durable: bool = False) -> Path:
    """Replace `target` with `data` (text is written as UTF-8) in one rename."""
    with atomic_output(target, mode=mode, durable=durable) as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    return target


def fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """The hex digest of a file's content, read in large chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()
