"""The shared file helpers: atomic replacement, the last check before it, digests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from metal_images.files import atomic_output, atomic_write, file_digest


def test_atomic_write_replaces_with_mode(tmp_path: Path) -> None:
    target = tmp_path / "sub/state.json"
    atomic_write(target, "old\n")
    atomic_write(target, b"new\n", mode=0o600)
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["state.json"]


def test_a_failure_inside_keeps_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "img"
    target.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="mismatch"), atomic_output(target) as handle:
        handle.write(b"half")
        raise RuntimeError("checksum mismatch")
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["img"]


def test_before_replace_can_refuse_the_rename(tmp_path: Path) -> None:
    # the durable order (data, rename, folder) is recorded in test_cachesync_download
    def refuse() -> None:
        raise PermissionError("the folder was swapped for a symlink")

    with pytest.raises(PermissionError), atomic_output(tmp_path / "img", before_replace=refuse) as handle:
        handle.write(b"data")
    assert list(tmp_path.iterdir()) == []


def test_file_digest(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(os.urandom(3 << 20))
    assert file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert file_digest(path, "md5") == hashlib.md5(path.read_bytes()).hexdigest()
