"""Complete means complete (issue 14.3): a kernel or boot image has no md5, so a transfer
cut off mid-way must be caught by its length (Content-Length), and a cached file whose size
differs from the store's is fetched again instead of being kept forever.

Real `metal-images cache-sync run --once` processes against a real HTTP server on 127.0.0.1
that announces the whole file and drops the connection after part of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.store_servers import StoreServer, serve_in_thread

CLI = str(Path(sys.executable).with_name("metal-images"))
KERNEL = "metal-hammer/v0.13/metal-hammer-kernel"


@dataclass
class World:
    store: Path
    cache: Path
    server: StoreServer
    url: str
    kernel: bytes

    def sync(self) -> subprocess.CompletedProcess[str]:
        urls = self.cache.parent / "kernels.txt"
        urls.write_text(f"{self.url}/{KERNEL}\n")
        images = self.cache.parent / "images.json"
        images.write_text(json.dumps([]))
        argv = [CLI, "cache-sync", "run", "--once", "--store-url", str(self.store),
                "--image-list", str(images), "--kernel-urls-file", str(urls), "--disable-boot-image-cache",
                "--cache-root-path", str(self.cache), "--retries", "1", "--timeout", "5"]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    @property
    def cached(self) -> Path:
        return self.cache / "kernels" / KERNEL


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = tmp_path / "store"
    kernel = os.urandom(300_000)
    (store / KERNEL).parent.mkdir(parents=True)
    (store / KERNEL).write_bytes(kernel)
    cache = tmp_path / "cache"
    cache.mkdir()
    server = StoreServer(store)
    with serve_in_thread(server.app()) as url:
        yield World(store, cache, server, url, kernel)


def test_a_kernel_cut_off_mid_transfer_is_not_cached(world: World) -> None:
    world.server.cut[KERNEL] = 100_000
    result = world.sync()
    assert result.returncode == 1, result.stderr
    assert "incomplete: got 100000 of 300000 bytes" in result.stderr
    assert not world.cached.exists()
    assert list((world.cache / "tmp" / "tmp").iterdir()) == []
    del world.server.cut[KERNEL]
    again = world.sync()
    assert again.returncode == 0, again.stderr
    assert world.cached.read_bytes() == world.kernel


def test_a_cached_kernel_of_the_wrong_size_is_fetched_again(world: World) -> None:
    world.cached.parent.mkdir(parents=True)
    world.cached.write_bytes(world.kernel[:100_000])  # what an earlier cut-off left behind
    result = world.sync()
    assert result.returncode == 0, result.stderr
    assert world.cached.read_bytes() == world.kernel
    gets = [r for r in world.server.requests if r[1] == "GET"]
    assert len(gets) == 1
    # the right size is kept without another download
    world.server.requests.clear()
    assert world.sync().returncode == 0
    assert [r for r in world.server.requests if r[1] == "GET"] == []
