"""No stalls (issue 14.5): a store or URL that trickles bytes, never ends a sidecar, or
sends a broken image cannot hold cache-sync or `check URL` for long.

Each case is the real CLI against a real aiohttp server on 127.0.0.1 that misbehaves on
purpose and ends by itself (StoreServer: bytes_per_second, endless); the CLI runs with a
hard timeout so a regression fails the test instead of hanging it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import lz4.frame
import pytest
from aiohttp import web
from tests.support.store_sample import make_artifact_set
from tests.support.store_servers import StoreServer, serve_in_thread

CLI = str(Path(sys.executable).with_name("metal-images"))
KEY = "metal-os/stable/debian/12/img.tar.lz4"


def run(argv: list[str], limit: float) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the CLI; fail (not hang) if it is still running after `limit` seconds."""
    started = time.monotonic()
    try:
        result = subprocess.run([CLI, *argv], capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(argv[:2])} still running after {limit:.0f}s: it stalls")
    return result, time.monotonic() - started


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Path, StoreServer, str]]:
    root = tmp_path / "store"
    server = StoreServer(root)
    with serve_in_thread(server.app()) as url:
        yield root, server, url


def test_cache_sync_cuts_off_a_trickling_store(store: tuple[Path, StoreServer, str], tmp_path: Path) -> None:
    root, server, url = store
    data = os.urandom(100_000)
    (root / KEY).parent.mkdir(parents=True)
    (root / KEY).write_bytes(data)
    (root / (KEY + ".md5")).write_text(f"{hashlib.md5(data).hexdigest()}  img.tar.lz4\n")
    images = tmp_path / "images.json"
    images.write_text(json.dumps([{"id": "debian-12.0.20240101", "url": f"http://images.metal-stack.io/{KEY}"}]))
    cache = tmp_path / "cache"
    cache.mkdir()
    server.bytes_per_second = 40  # 100 kB would take 40 minutes
    result, seconds = run(["cache-sync", "run", "--once", "--store-url", url + "/",
                           "--image-list", str(images), "--cache-root-path", str(cache), "--timeout", "1",
                           "--min-speed", "10K", "--retries", "2", "--retry-delay", "0.05"], limit=60)
    assert result.returncode == 1, result.stderr
    assert "too slow" in result.stderr and "the minimum is 10.0 KiB/s" in result.stderr
    assert "gave up after 2 attempts" in result.stderr
    assert seconds < 30
    assert not (cache / "images" / KEY).exists()


def test_check_url_has_an_overall_deadline(store: tuple[Path, StoreServer, str]) -> None:
    root, server, url = store
    make_artifact_set(root / "stable" / "debian" / "12", payload_size=1 << 20)
    server.bytes_per_second = 40
    result, seconds = run(["check", f"{url}/stable/debian/12/img.tar.lz4", "--deadline", "2"], limit=60)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "not done after 2s (the overall deadline)" in errors[0], result.stderr
    assert seconds < 20


def test_check_url_caps_an_endless_sidecar(store: tuple[Path, StoreServer, str]) -> None:
    root, server, url = store
    make_artifact_set(root / "stable" / "debian" / "12")
    server.endless.add("stable/debian/12/img.tar.lz4.md5")
    result, _ = run(["check", f"{url}/stable/debian/12/img.tar.lz4", "--json"], limit=60)
    report = json.loads(result.stdout)
    md5 = next(r for r in report["results"] if r["id"] == "md5-sidecar")
    assert md5["status"] == "fail" and "larger than 65536 bytes, not a checksum sidecar" in md5["reason"]


def test_check_url_stops_at_a_broken_frame(store: tuple[Path, StoreServer, str]) -> None:
    root, server, url = store
    folder = root / "stable" / "debian" / "12"
    make_artifact_set(folder)
    frame = lz4.frame.compress(b"x" * 1000)
    # a frame header, then 40 MB that are not LZ4 blocks: at 4 MB/s, reading it all takes 10 s
    (folder / "img.tar.lz4").write_bytes(frame[:7] + b"\xff\xff\xff\x7f" + os.urandom(40 << 20))
    server.bytes_per_second = 4 << 20
    result, seconds = run(["check", f"{url}/stable/debian/12/img.tar.lz4", "--json"], limit=120)
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert {r["id"] for r in report["results"] if r["status"] == "fail"} >= {"lz4-frame"}
    assert report["archive"]["compressed_bytes"] < 20 << 20
    assert seconds < 8


def trickling_metal_api() -> web.Application:
    """`/v1/image` answers a few bytes a second, for at most a minute."""

    async def images(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            await response.write(b"[")
            for _ in range(600):
                await asyncio.sleep(0.1)
                await response.write(b" ")
        except (ConnectionError, RuntimeError):
            pass  # the client gave up
        return response

    app = web.Application()
    app.router.add_get("/v1/image", images)
    return app


def test_cache_sync_cuts_off_a_trickling_metal_api(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    with serve_in_thread(trickling_metal_api()) as url:
        result, seconds = run(["cache-sync", "run", "--once", "--metal-api-endpoint", url,
                               "--store-url", str(tmp_path), "--cache-root-path", str(cache),
                               "--timeout", "1", "--min-speed", "1K", "--retries", "1"], limit=40)
    assert result.returncode == 1, result.stderr
    assert "too slow" in result.stderr, result.stderr
    assert seconds < 20
