"""cache-sync verifies the strongest checksum the store offers, in the download pass:
sha256 where the store has the `.sha256`, md5 where only the `.md5` exists."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from metal_images.cachesync.config import CacheSyncConfig
from metal_images.cachesync.download import ChecksumMismatch, download_verified
from metal_images.cachesync.syncer import RoundReport, Syncer, SyncError

KEY = "metal-os/20261101/debian/12/img.tar.lz4"


def test_download_hashes_sha256_when_given(tmp_path: Path) -> None:
    data = os.urandom(5 << 20)
    final = tmp_path / "img"
    size, digest = download_verified(io.BytesIO(data), final, tmp_path / "tmp", "0" * 32,  # a wrong md5
                                     inside=tmp_path, expected_sha256=hashlib.sha256(data).hexdigest(),
                                     what="img")
    assert (size, digest) == (len(data), hashlib.sha256(data).hexdigest())  # the md5 was not the check
    assert final.read_bytes() == data
    with pytest.raises(ChecksumMismatch, match="sha256 mismatch"):
        download_verified(io.BytesIO(data), tmp_path / "img2", tmp_path / "tmp",
                          hashlib.md5(data).hexdigest(), inside=tmp_path, expected_sha256="f" * 64,
                          what="img")
    assert not (tmp_path / "img2").exists() and list((tmp_path / "tmp").iterdir()) == []


def _round(tmp_path: Path, sidecars: dict[str, str], data: bytes) -> tuple[Path, RoundReport]:
    store = tmp_path / "store"
    (store / KEY).parent.mkdir(parents=True, exist_ok=True)
    (store / KEY).write_bytes(data)
    for suffix, text in sidecars.items():
        (store / (KEY + suffix)).write_text(text)
    entities = [{"id": "debian-12.0.20261101", "url": f"http://images.invalid/{KEY}",
                 "features": ["machine"], "classification": "supported"}]
    (tmp_path / "images.json").write_text(json.dumps(entities))
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    config = CacheSyncConfig(cache_root_path=cache, store_url=str(store), image_list=tmp_path / "images.json",
                             enable_kernel_cache=False, enable_boot_image_cache=False, retries=1,
                             retry_delay=0.01).validate(needs_images=True)
    return cache, Syncer(config).run_round()


def test_a_wrong_sha256_fails_even_when_the_md5_matches(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    md5 = f"{hashlib.md5(data).hexdigest()}  img.tar.lz4\n"
    with pytest.raises(SyncError, match="sha256 mismatch"):
        _round(tmp_path, {".md5": md5, ".sha256": "e" * 64 + "  img.tar.lz4\n"}, data)
    assert not (tmp_path / "cache/images" / KEY).exists()


def test_the_right_sha256_is_verified_and_the_md5_sidecar_kept(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    md5 = f"{hashlib.md5(data).hexdigest()}  img.tar.lz4\n"
    sha = f"{hashlib.sha256(data).hexdigest()}  img.tar.lz4\n"
    cache, report = _round(tmp_path, {".md5": md5, ".sha256": sha}, data)
    assert report.downloaded == 1
    assert (cache / "images" / KEY).read_bytes() == data
    assert (cache / "images" / (KEY + ".md5")).read_text() == md5  # what metal-hammer checks


@pytest.mark.parametrize("sha256", [None, "not a checksum\n"])
def test_without_a_usable_sha256_the_md5_is_verified(tmp_path: Path, sha256: str | None) -> None:
    data = os.urandom(300_000)
    sidecars = {".md5": "0" * 32 + "  img.tar.lz4\n"}  # a wrong md5 must fail: it is the check
    if sha256 is not None:
        sidecars[".sha256"] = sha256
    with pytest.raises(SyncError, match="md5 mismatch"):
        _round(tmp_path, sidecars, data)
    sidecars[".md5"] = f"{hashlib.md5(data).hexdigest()}  img.tar.lz4\n"
    cache, report = _round(tmp_path, sidecars, data)
    assert report.downloaded == 1 and (cache / "images" / KEY).read_bytes() == data
