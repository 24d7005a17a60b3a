"""Prometheus metrics per cache, with upstream's metric names (contract 10.4).

Counters are exported as gauges on purpose: prometheus_client would append `_total` to a
counter's name, and dashboards built for upstream query the bare names.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge

from metal_images.cachesync.layout import cache_usage

COUNT_NAMES = {"images": "cache_image_count", "kernels": "cache_kernel_count",
               "boot-images": "cache_boot_images_count"}


class CacheMetrics:
    def __init__(self, kind: str, root: Path) -> None:
        self.kind = kind
        self.root = root
        self.registry = CollectorRegistry()
        r = self.registry
        self.size = Gauge("current_cache_size", f"bytes in the {kind} cache", registry=r)
        self.count = Gauge(COUNT_NAMES[kind], f"files in the {kind} cache", registry=r)
        self.misses = Gauge("cache_misses", "requests answered with a 307 to the real store", registry=r)
        downloads = "cache_image_downloads" if kind == "images" else "cache_downloads"
        self.downloads = Gauge(downloads, "files served from the cache (200)", registry=r)
        if kind == "images":
            self.unsynced = Gauge("cache_unsynced_image_count", "metal-api images not cached", registry=r)
            self.api_images = Gauge("metal_api_image_count", "images the metal-api lists", registry=r)
            self.synced_bytes = Gauge("cache_sync_downloaded_image_bytes",
                                      "bytes downloaded by cache-sync", registry=r)
            self.synced_count = Gauge("cache_sync_downloaded_image_count",
                                      "images downloaded by cache-sync", registry=r)

    def refresh(self) -> None:
        """Size and count from the disk (called before each scrape and after each sync)."""
        files, size = cache_usage(self.root)
        self.size.set(size)
        self.count.set(files)
