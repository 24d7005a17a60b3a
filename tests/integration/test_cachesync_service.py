"""`cache-sync run` (sync at start plus serving) and `cache-sync serve` as real processes."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

CLI = str(Path(sys.executable).with_name("metal-images"))
KEY = "metal-os/stable/debian/12/img.tar.lz4"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(argv: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(url: str, predicate: Callable[[requests.Response], bool] | None = None,
             timeout: float = 30) -> requests.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = requests.get(url, timeout=2, allow_redirects=False)
            if predicate is None or predicate(response):
                return response
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer as expected within {timeout}s")


def test_run_syncs_at_start_and_serves(tmp_path: Path) -> None:
    data = os.urandom(150_000)
    image = tmp_path / "store" / KEY
    image.parent.mkdir(parents=True)
    image.write_bytes(data)
    image.with_name("img.tar.lz4.md5").write_text(hashlib.md5(data).hexdigest() + "  img.tar.lz4\n")
    (tmp_path / "images.yaml").write_text(json.dumps(
        [{"id": "debian-12.0.20240101", "url": f"http://images.metal-stack.io/{KEY}"}]))
    cache = tmp_path / "cache"
    cache.mkdir()
    port = free_port()
    argv = [CLI, "cache-sync", "run", "--store-url", str(tmp_path / "store"), "--image-list",
            str(tmp_path / "images.yaml"), "--cache-root-path", str(cache), "--schedule", "0 0 1 1 *",
            "--image-cache-bind-address", f"127.0.0.1:{port}", "--disable-kernel-cache",
            "--disable-boot-image-cache"]
    base = f"http://127.0.0.1:{port}"
    with process(argv):
        assert wait_for(f"{base}/health").text == "HEALTHY"
        synced = "cache_sync_downloaded_image_count 1.0"
        metrics = wait_for(f"{base}/metrics", lambda r: synced in r.text).text
        assert "metal_api_image_count 1.0" in metrics
        assert "cache_unsynced_image_count 0.0" in metrics
        assert f"cache_sync_downloaded_image_bytes {float(len(data))}" in metrics
        served = requests.get(f"{base}/{KEY}", timeout=5)
        assert served.status_code == 200 and served.content == data


def test_serve_only(tmp_path: Path) -> None:
    port = free_port()
    argv = [CLI, "cache-sync", "serve", "--cache-root-path", str(tmp_path), "--image-cache-bind-address",
            f"127.0.0.1:{port}", "--disable-kernel-cache", "--disable-boot-image-cache"]
    with process(argv):
        wait_for(f"http://127.0.0.1:{port}/health")
        miss = requests.get(f"http://127.0.0.1:{port}/{KEY}", headers={"Host": "images.metal-stack.io"},
                            allow_redirects=False, timeout=5)
    assert miss.status_code == 307
    assert miss.headers["Location"] == f"https://images.metal-stack.io/{KEY}"
