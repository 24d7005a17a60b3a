"""The file backend and the local artifact set: atomic writes, hardlink copies, checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from metal_images.artifact.registry import IMAGE, MD5, PACKAGES
from metal_images.errors import ConfigError, MetalImagesError
from metal_images.files import file_digest
from metal_images.store.file_backend import FileBackend
from metal_images.store.local_set import read_local_set
from metal_images.store.open import open_store
from tests.support.store_sample import make_artifact_set


def test_put_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path / "store")
    source = tmp_path / "blob"
    source.write_bytes(b"x" * 10_000)
    seen: list[int] = []
    backend.put_file("metal-os/stable/debian/12/blob", source, sha256="", md5="", progress=seen.append)
    assert sum(seen) == 10_000
    assert (tmp_path / "store/metal-os/stable/debian/12/blob").read_bytes() == source.read_bytes()
    assert [p.name for p in (tmp_path / "store/metal-os/stable/debian/12").iterdir()] == ["blob"]


def test_failed_put_keeps_the_old_object(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    old = tmp_path / "old"
    old.write_bytes(b"old")
    backend.put_file("a/obj", old, sha256="", md5="", progress=None)

    def boom(_: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        backend.put_file("a/obj", _big(tmp_path), sha256="", md5="", progress=boom)
    assert (tmp_path / "a/obj").read_bytes() == b"old"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["obj"]


def _big(tmp_path: Path) -> Path:
    path = tmp_path / "big"
    path.write_bytes(b"y" * 100)
    return path


def test_listing_hides_temp_files_and_copy_is_a_hardlink(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    src = tmp_path / "s"
    src.write_bytes(b"data")
    backend.put_file("metal-os/stable/x/1/f", src, sha256="", md5="", progress=None)
    (tmp_path / "metal-os/stable/x/1/.f.123.tmp").write_bytes(b"half")
    backend.copy("metal-os/stable/x/1/f", "metal-os/20261125/x/1/f")
    keys = [o.key for o in backend.list("metal-os/")]
    assert keys == ["metal-os/20261125/x/1/f", "metal-os/stable/x/1/f"]
    assert (tmp_path / "metal-os/stable/x/1/f").stat().st_ino == (
        tmp_path / "metal-os/20261125/x/1/f"
    ).stat().st_ino
    with pytest.raises(MetalImagesError, match="no such object"):
        backend.copy("metal-os/stable/x/1/missing", "metal-os/20261125/x/1/missing")


def test_keys_cannot_leave_the_root(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path / "store")
    with pytest.raises(ConfigError, match="refused"):
        backend.stat("metal-os/../../etc/passwd")
    with pytest.raises(ConfigError, match="refused"):
        backend.put_file("../evil", tmp_path, sha256="", md5="", progress=None)


def test_local_set_reads_checksums_from_the_sidecars(tmp_path: Path) -> None:
    directory = make_artifact_set(tmp_path / "stable/debian/12")
    local = read_local_set(directory)
    assert (local.os, local.version) == ("debian", "12")
    assert local.files[IMAGE].facts.md5 == (directory / MD5).read_text().split()[0]
    assert local.files[PACKAGES].facts.size == (directory / PACKAGES).stat().st_size


def test_local_set_errors_name_the_problem(tmp_path: Path) -> None:
    directory = make_artifact_set(tmp_path / "stable/debian/12")
    (directory / MD5).write_text("nonsense\n")
    with pytest.raises(ConfigError, match=r"img.tar.lz4.md5: not in checksum format"):
        read_local_set(directory)
    (directory / MD5).write_text("d41d8cd98f00b204e9800998ecf8427e  other.tar\n")
    with pytest.raises(ConfigError, match=r"names 'other\.tar'"):
        read_local_set(directory)
    (directory / MD5).unlink()
    with pytest.raises(ConfigError, match=r"incomplete artifact set, missing img.tar.lz4.md5"):
        read_local_set(directory)
    bad = make_artifact_set(tmp_path / "stable/Debian/12")
    with pytest.raises(ConfigError, match="os name 'Debian'"):
        read_local_set(bad)


def test_open_store_urls(tmp_path: Path) -> None:
    assert isinstance(open_store(f"file://{tmp_path}"), FileBackend)
    assert isinstance(open_store(str(tmp_path)), FileBackend)
    with pytest.raises(ConfigError, match="does not exist"):
        open_store(str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="unknown scheme 'ftp'"):
        open_store("ftp://host/x")
    with pytest.raises(ConfigError, match="absolute path"):
        open_store("file://relative/x")


def test_recorded_checksums_are_trusted_only_while_the_file_is_unchanged(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path / "store")
    source = tmp_path / "blob"
    source.write_bytes(b"content")
    md5 = hashlib.md5(b"content").hexdigest()  # checked while writing; the sha256 is only recorded
    backend.put_file("k/blob", source, sha256="ab" * 32, md5=md5, progress=None)
    info = backend.stat("k/blob")
    assert info is not None and (info.sha256, info.md5) == ("ab" * 32, md5)
    assert backend.sha256("k/blob") == "ab" * 32  # from the record, not from hashing
    (tmp_path / "store/k/blob").write_bytes(b"changed behind our back")
    info = backend.stat("k/blob")
    assert info is not None and info.sha256 is None
    assert backend.sha256("k/blob") == file_digest(tmp_path / "store/k/blob")
