"""cache-sync under failure, with real processes and servers on 127.0.0.1: a killed sync,
a corrupted download, a store that answers 500 or stalls, a cache disk that fills up.

The store is a directory served by a real HTTP server that can fail on purpose; the sync
is the real `metal-images` CLI in a subprocess."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from tests.support.store_servers import StoreServer, serve_in_thread

from metal_images.cachesync.metrics import CacheMetrics
from metal_images.cachesync.server import make_app
from metal_images.runner import run

CLI = str(Path(sys.executable).with_name("metal-images"))


@dataclass
class Setup:
    store: Path
    cache: Path
    image_list: Path
    server: StoreServer
    url: str
    entities: list[dict[str, object]]

    def add_image(self, image_id: str, key: str, size: int) -> bytes:
        data = os.urandom(size)
        path = self.store / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.with_name(path.name + ".md5").write_text(f"{hashlib.md5(data).hexdigest()}  {path.name}\n")
        self.entities.append({"id": image_id, "url": f"http://images.metal-stack.io/{key}"})
        self.image_list.write_text(json.dumps(self.entities))
        return data

    def argv(self, *extra: str) -> list[str]:
        return [CLI, "cache-sync", "run", "--once", "--store-url", self.url + "/", "--image-list",
                str(self.image_list), "--cache-root-path", str(self.cache), "--retry-delay", "0.05",
                "--timeout", "5", *extra]

    def run(self, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*extra), capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "COLUMNS": "200"})

    def cached(self, key: str) -> Path:
        return self.cache / "images" / key


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    store = tmp_path / "store"
    store.mkdir()
    cache = tmp_path / "cache"
    cache.mkdir()
    server = StoreServer(store)
    with serve_in_thread(server.app()) as url:
        yield Setup(store, cache, tmp_path / "images.json", server, url, [])


KEY_A = "metal-os/20240101/debian/12/img.tar.lz4"
KEY_B = "metal-os/20240201/debian/12/img.tar.lz4"


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def visible_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_killed_mid_download_leaves_no_partial_file(setup: Setup) -> None:
    data = setup.add_image("debian-12.0.20240101", KEY_A, 16 << 20)
    setup.server.bytes_per_second = 2 << 20  # 8 s for the whole image: time to kill it halfway
    tmp = setup.cache / "tmp" / "tmp"
    proc = subprocess.Popen(setup.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = list(tmp.glob("*.part")) if tmp.is_dir() else []
            if parts and parts[0].stat().st_size > (2 << 20):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the download never started")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not setup.cached(KEY_A).exists()
    assert not setup.cached(KEY_A + ".md5").exists()
    assert len(list(tmp.glob("*.part"))) == 1  # the leftover, only in tmp
    setup.server.bytes_per_second = 0
    again = setup.run()
    assert again.returncode == 0, again.stderr
    assert "leftover" in again.stderr
    assert setup.cached(KEY_A).read_bytes() == data
    assert list(tmp.iterdir()) == []


def test_corrupted_download_is_rejected_and_never_served(setup: Setup) -> None:
    good = setup.add_image("debian-12.0.20240101", KEY_A, 200_000)
    assert setup.run().returncode == 0
    setup.add_image("debian-12.0.20240201", KEY_B, 300_000)
    setup.server.corrupt.add(KEY_B)
    result = setup.run("--retries", "2")
    assert result.returncode == 1
    assert "md5 mismatch" in result.stderr
    assert "gave up after 2 attempts" in result.stderr
    assert not setup.cached(KEY_B).exists()
    assert visible_files(setup.cache / "images") == [KEY_A, KEY_A + ".md5"]
    assert list((setup.cache / "tmp" / "tmp").iterdir()) == []
    with serve_in_thread(make_app(CacheMetrics("images", setup.cache / "images"))) as url:
        served = requests.get(f"{url}/{KEY_A}", timeout=5)
        assert served.status_code == 200 and served.content == good
        corrupt = requests.get(f"{url}/{KEY_B}", allow_redirects=False, timeout=5)
        assert corrupt.status_code == 307


def test_store_answering_500_is_retried_with_backoff(setup: Setup) -> None:
    data = setup.add_image("debian-12.0.20240101", KEY_A, 100_000)
    setup.server.fail_first = 3
    result = setup.run("--retries", "5", "--retry-delay", "0.2")
    assert result.returncode == 0, result.stderr
    assert setup.server.failures == 3
    assert setup.cached(KEY_A).read_bytes() == data
    times = [t for t, *_ in setup.server.requests[:4]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.18 and gaps[1] >= 0.38 and gaps[2] >= 0.78  # 0.2, 0.4, 0.8 s
    assert result.stderr.count("HTTP 500") == 3


def test_store_timing_out_is_retried(setup: Setup) -> None:
    data = setup.add_image("debian-12.0.20240101", KEY_A, 100_000)
    setup.server.stall_first = 2
    setup.server.stall_seconds = 3
    started = time.monotonic()
    result = setup.run("--timeout", "0.5", "--retries", "4")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 1.0
    assert "timed out" in result.stderr
    assert setup.cached(KEY_A).read_bytes() == data


def test_store_that_stays_broken_ends_the_round_and_keeps_the_cache(setup: Setup) -> None:
    setup.add_image("debian-12.0.20240101", KEY_A, 100_000)
    assert setup.run().returncode == 0
    before = md5_of(setup.cached(KEY_A))
    setup.add_image("debian-12.0.20240201", KEY_B, 100_000)
    setup.server.requests.clear()
    setup.server.fail_first = 1000
    result = setup.run("--retries", "3")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "gave up after 3 attempts" in errors[0] and "HTTP 500" in errors[0]
    assert setup.server.failures == 3
    assert md5_of(setup.cached(KEY_A)) == before


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs as the cache root, unmounted on every exit path."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", mount_point])
    try:
        yield mount_point
    finally:
        run(["umount", mount_point], check=False)


def test_full_cache_disk_ends_the_run_and_keeps_old_images(setup: Setup, small_disk: Path) -> None:
    setup.cache = small_disk
    old = setup.add_image("debian-12.0.20240101", KEY_A, 500_000)
    assert setup.run().returncode == 0
    setup.add_image("debian-12.0.20240201", KEY_B, 3_000_000)
    result = setup.run()
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cache disk full: no space left" in errors[0], result.stderr
    assert setup.cached(KEY_A).read_bytes() == old
    assert md5_of(setup.cached(KEY_A)) == setup.cached(KEY_A + ".md5").read_text().split()[0]
    assert not setup.cached(KEY_B).exists()
    assert list((small_disk / "tmp" / "tmp").iterdir()) == []
