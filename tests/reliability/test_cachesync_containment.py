"""cache-sync writes only inside its cache root (issue 14.1), whatever the image list says
and whichever kind of store it reads (a directory, S3 on moto's server, HTTP with a base
URL, or each image's own URL). URLs whose path has `..`, empty segments, backslashes or
their percent-encoded forms are skipped with a reason; a symlink planted in the cache
cannot lead a download out of it either (the writer checks after resolving).

Real `metal-images cache-sync run --once` processes against real servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from tests.support.store_sample import local_s3
from tests.support.store_servers import StoreServer, serve_in_thread

CLI = str(Path(sys.executable).with_name("metal-images"))
GOOD_KEY = "metal-os/stable/debian/12/img.tar.lz4"
# every path below, read by a server or joined to the cache root, leaves the cache
HOSTILE_PATHS = [
    "/metal-os/../../../../escaped/img.tar.lz4",
    "/metal-os/%2e%2e/%2E%2E/%2e%2e/%2e%2e/escaped/img.tar.lz4",
    "/metal-os/..%2F..%2F..%2F..%2Fescaped/img.tar.lz4",
    "/metal-os\\..\\..\\..\\..\\escaped\\img.tar.lz4",
    "/metal-os/%5c..%5c..%5cescaped/img.tar.lz4",
    "//escaped/img.tar.lz4",
    "/metal-os/./stable//debian/12/img.tar.lz4",
]


def write_object(root: Path, key: str, data: bytes) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.with_name(path.name + ".md5").write_text(f"{hashlib.md5(data).hexdigest()}  {path.name}\n")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A store folder with the good image and the files the hostile paths aim at, served on loopback.

    The store sits as deep below tmp_path as the cache's images folder, so a `..` path that a
    server resolves to a real file leads, joined to the cache, to `sandbox/a/escaped/`."""
    store = tmp_path / "s1" / "s2" / "s3" / "store"
    data = os.urandom(50_000)
    write_object(store, GOOD_KEY, data)
    for folder in (store, tmp_path / "s1"):  # whether a server normalises `..` or not
        write_object(folder, "escaped/img.tar.lz4", data)
        write_object(folder, "escaped/vmlinuz", data)
    with serve_in_thread(StoreServer(store).app()) as url:
        yield store, url


def sync(tmp_path: Path, store_args: list[str], base: str, server: str) -> subprocess.CompletedProcess[str]:
    entities = [{"id": f"debian-12.0.202401{index + 10:02d}", "url": base + path}
                for index, path in enumerate(HOSTILE_PATHS)]
    image_list = tmp_path / "images.json"
    image_list.write_text(json.dumps(entities))
    kernels = tmp_path / "kernels.txt"
    # kernels always come from their own URL: the loopback server
    kernels.write_text("".join(f"{server}{p.replace('img.tar.lz4', 'vmlinuz')}\n" for p in HOSTILE_PATHS))
    cache = tmp_path / "sandbox" / "a" / "b" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    argv = [CLI, "cache-sync", "run", "--once", *store_args, "--image-list", str(image_list),
            "--kernel-urls-file", str(kernels), "--cache-root-path", str(cache), "--retries", "1",
            "--timeout", "5"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "300"})


def files_outside_cache(tmp_path: Path) -> list[str]:
    sandbox = tmp_path / "sandbox"
    cache = sandbox / "a" / "b" / "cache"
    return sorted(p.relative_to(sandbox).as_posix() for p in sandbox.rglob("*")
                  if p.is_file() and not p.is_relative_to(cache))


def assert_all_skipped(result: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert files_outside_cache(tmp_path) == []
    reasons = [line for line in result.stdout.splitlines() + result.stderr.splitlines()
               if line.startswith("skipped") and "unsafe url path" in line]
    assert len(reasons) == 2 * len(HOSTILE_PATHS), result.stdout + result.stderr  # images and kernels


@pytest.mark.parametrize("kind", ["file", "http", "direct"])
def test_hostile_urls_are_skipped(world: tuple[Path, str], tmp_path: Path, kind: str) -> None:
    store, url = world
    store_args = {"file": ["--store-url", str(store)], "http": ["--store-url", url + "/"],
                  "direct": ["--store-url", "direct"]}[kind]
    base = url if kind == "direct" else "http://images.metal-stack.io"
    result = sync(tmp_path, store_args, base, url)
    assert_all_skipped(result, tmp_path)


def test_hostile_keys_in_s3_are_skipped(world: tuple[Path, str], tmp_path: Path) -> None:
    _store, url = world
    with local_s3() as s3:
        client = boto3.client("s3", endpoint_url=s3.endpoint_url)
        for path in HOSTILE_PATHS:  # S3 keys are plain strings: `..` is a valid key there
            key = path.lstrip("/")
            client.put_object(Bucket=s3.bucket, Key=key, Body=b"x" * 100)
            md5 = hashlib.md5(b"x" * 100).hexdigest().encode()
            client.put_object(Bucket=s3.bucket, Key=key + ".md5", Body=md5)
        result = sync(tmp_path, ["--store-url", f"s3://{s3.bucket}", "--image-store", s3.endpoint_url],
                      "http://images.metal-stack.io", url)
    assert_all_skipped(result, tmp_path)


def test_a_planted_symlink_cannot_lead_a_download_out(world: tuple[Path, str], tmp_path: Path) -> None:
    store, _url = world
    cache = tmp_path / "sandbox" / "a" / "b" / "cache"
    (cache / "images").mkdir(parents=True)
    outside = tmp_path / "sandbox" / "outside"
    outside.mkdir()
    (cache / "images" / "metal-os").symlink_to(outside)
    image_list = tmp_path / "images.json"
    image_list.write_text(json.dumps([{"id": "debian-12.0.20240101", "url": f"http://x/{GOOD_KEY}"}]))
    result = subprocess.run(
        [CLI, "cache-sync", "run", "--once", "--store-url", str(store), "--image-list", str(image_list),
         "--cache-root-path", str(cache), "--retries", "1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "is not inside the cache" in result.stderr, result.stderr
    assert list(outside.rglob("*")) == []
