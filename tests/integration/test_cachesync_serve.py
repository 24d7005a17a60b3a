"""`serve`: the cache over HTTP with a real aiohttp server and real HTTP requests."""

from __future__ import annotations

import os
from pathlib import Path

import requests

from metal_images.cachesync.metrics import CacheMetrics
from metal_images.cachesync.server import MISS_BODY, make_app
from tests.support.store_servers import serve_in_thread


def test_serve_files_health_metrics_and_307(tmp_path: Path) -> None:
    root = tmp_path / "images"
    image = root / "metal-os/stable/debian/12/img.tar.lz4"
    image.parent.mkdir(parents=True)
    data = os.urandom(100_000)
    image.write_bytes(data)
    (tmp_path / "secret").write_text("outside the cache")
    metrics = CacheMetrics("images", root)
    with serve_in_thread(make_app(metrics)) as url:
        assert requests.get(f"{url}/health", timeout=5).text == "HEALTHY"
        whole = requests.get(f"{url}/metal-os/stable/debian/12/img.tar.lz4", timeout=5)
        assert whole.status_code == 200 and whole.content == data
        part = requests.get(f"{url}/metal-os/stable/debian/12/img.tar.lz4", headers={"Range": "bytes=10-19"},
                            timeout=5)
        assert part.status_code == 206 and part.content == data[10:20]
        miss = requests.get(f"{url}/metal-os/stable/ubuntu/24.04/img.tar.lz4?x=1",
                            headers={"Host": "images.metal-stack.io"}, allow_redirects=False, timeout=5)
        assert miss.status_code == 307
        assert miss.headers["Location"] == "https://images.metal-stack.io/metal-os/stable/ubuntu/24.04/img.tar.lz4?x=1"
        assert miss.text == MISS_BODY
        escape = requests.get(f"{url}/%2e%2e/secret", allow_redirects=False, timeout=5)
        assert escape.status_code == 307
        head = requests.head(f"{url}/metal-os/stable/debian/12/img.tar.lz4", timeout=5)
        assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(data)
        text = requests.get(f"{url}/metrics", timeout=5).text
    values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
              if line and not line.startswith("#")}
    assert values["cache_misses"] == 2
    assert values["cache_image_downloads"] == 1  # 200 GETs only, like upstream
    assert values["cache_image_count"] == 1
    assert values["current_cache_size"] == len(data)
    for name in ("cache_unsynced_image_count", "metal_api_image_count", "cache_sync_downloaded_image_bytes",
                 "cache_sync_downloaded_image_count"):
        assert name in values


def test_kernel_cache_metric_names(tmp_path: Path) -> None:
    with serve_in_thread(make_app(CacheMetrics("kernels", tmp_path))) as url:
        text = requests.get(f"{url}/metrics", timeout=5).text
    assert "cache_kernel_count 0.0" in text and "cache_downloads 0.0" in text
    assert "_total" not in text
