"""The hammer's tar semantics (contract 7.4) on small real archives."""

from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path

import lz4.frame
import pytest

from metal_images.errors import MetalImagesError
from metal_images.hammer.burn import burn, check_url


def _archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], *,
             fmt: int = tarfile.GNU_FORMAT, pax_headers: dict[str, str] | None = None) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt, pax_headers=pax_headers) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    path.write_bytes(lz4.frame.compress(raw.getvalue()))
    return path


def _info(name: str, kind: bytes, mode: int, *, size: int = 0, link: str = "",
          uid: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = link
    info.uid = uid
    info.gid = uid
    return info


def test_hammer_semantics(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "img.tar.lz4", [
        (_info("./var/tmp", tarfile.DIRTYPE, 0o1777), None),
        (_info("./etc", tarfile.DIRTYPE, 0o700), None),
        (_info("./etc/hosts", tarfile.REGTYPE, 0o600, size=5, uid=1234), b"hosts"),
        (_info("./usr/bin/su", tarfile.REGTYPE, 0o4755, size=2), b"su"),
        (_info("./etc/alias", tarfile.SYMTYPE, 0o777, link="hosts"), None),
        (_info("./etc/hard", tarfile.LNKTYPE, 0o600, link="./etc/hosts"), None),
        (_info("./dev/null", tarfile.CHRTYPE, 0o666), None),
    ])
    root = tmp_path / "root"
    root.mkdir()
    assert burn(archive, root) == 7
    assert stat.S_IMODE((root / "var/tmp").stat().st_mode) == 0o755  # sticky bit lost
    assert stat.S_IMODE((root / "etc").stat().st_mode) == 0o755
    assert (root / "etc/hosts").read_bytes() == b"hosts"
    assert stat.S_IMODE((root / "etc/hosts").stat().st_mode) == 0o600
    assert (root / "etc/hosts").stat().st_uid == 0  # owner not applied
    assert stat.S_IMODE((root / "usr/bin/su").stat().st_mode) == 0o4755  # setuid kept
    assert (root / "etc/alias").is_symlink() and (root / "etc/alias").read_bytes() == b"hosts"
    assert (root / "etc/hard").stat().st_ino == (root / "etc/hosts").stat().st_ino
    assert (root / "dev/null").is_file()  # a char device becomes an empty regular file


def test_pax_global_header_is_an_error(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "img.tar.lz4", [(_info("./a", tarfile.REGTYPE, 0o644, size=1), b"a")],
                       fmt=tarfile.PAX_FORMAT, pax_headers={"comment": "global"})
    with pytest.raises(MetalImagesError, match="unknown type flag"):
        burn(archive, tmp_path)


def test_existing_symlink_path_is_an_error(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "img.tar.lz4", [
        (_info("./a", tarfile.REGTYPE, 0o644, size=1), b"a"),
        (_info("./a", tarfile.SYMTYPE, 0o777, link="b"), None),
    ])
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(MetalImagesError, match="already exists"):
        burn(archive, root)


def test_entry_escaping_the_root_is_refused(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "img.tar.lz4", [(_info("../evil", tarfile.REGTYPE, 0o644, size=1), b"x")])
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(MetalImagesError, match="outside the root"):
        burn(archive, root)
    assert not (tmp_path / "evil").exists()


def test_url_must_end_in_lz4() -> None:
    check_url("http://x/img.tar.lz4")
    with pytest.raises(MetalImagesError, match="unsupported image compression"):
        check_url("http://x/img.tar.gz")


def test_not_lz4_is_one_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "img.tar.lz4"
    bogus.write_bytes(b"not an lz4 frame at all")
    with pytest.raises(MetalImagesError, match="extracting"):
        burn(bogus, tmp_path)
