"""Hostile requests to both file servers (issue 14.9), `metal-images serve` and cache-sync's
cache server, each a real aiohttp server on loopback: an If-Range that names another ETag
gets the whole file, `bytes=-0` is unsatisfiable, and over-long path segments or symlink
loops are a 404, not a 500 with a traceback."""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.store_servers import serve_in_thread

from metal_images.cachesync.metrics import CacheMetrics
from metal_images.cachesync.server import make_app as cache_app
from metal_images.serve.app import make_app as store_app

DATA = os.urandom(10_000)
KEY = "metal-os/stable/debian/12/img.tar.lz4"


@pytest.fixture(params=["serve", "cache-sync"])
def base(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "root"
    (root / KEY).parent.mkdir(parents=True)
    (root / KEY).write_bytes(DATA)
    (root / "loop").symlink_to("loop")
    (root / "a").symlink_to("b")
    (root / "b").symlink_to("a")
    app = store_app(root) if request.param == "serve" else cache_app(CacheMetrics("images", root))
    with serve_in_thread(app) as url:
        yield url


def get(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A raw GET (http.client sends the path exactly as given, no normalising)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_if_range_with_the_current_etag_gives_the_range(base: str) -> None:
    status, headers, _ = get(base, f"/{KEY}")
    assert status == 200
    etag = headers["Etag"]
    status, _, body = get(base, f"/{KEY}", {"Range": "bytes=100-199", "If-Range": etag})
    assert (status, body) == (206, DATA[100:200])


@pytest.mark.parametrize("if_range", ['"0-0"', 'W/"abc"', '"something-else"'])
def test_if_range_with_another_etag_gives_the_whole_file(base: str, if_range: str) -> None:
    status, _, body = get(base, f"/{KEY}", {"Range": "bytes=100-199", "If-Range": if_range})
    assert status == 200 and body == DATA


def test_weak_current_etag_in_if_range_gives_the_whole_file(base: str) -> None:
    etag = get(base, f"/{KEY}")[1]["Etag"].removeprefix("W/")
    status, _, body = get(base, f"/{KEY}", {"Range": "bytes=0-9", "If-Range": f"W/{etag}"})
    assert status == 200 and body == DATA  # If-Range compares strongly (RFC 9110 13.1.5)


@pytest.mark.parametrize("spec", ["bytes=-0", "bytes=-00", "bytes=20000-"])
def test_unsatisfiable_ranges_give_416(base: str, spec: str) -> None:
    status, headers, _ = get(base, f"/{KEY}", {"Range": spec})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(DATA)}"


def test_a_suffix_range_still_works(base: str) -> None:
    status, _, body = get(base, f"/{KEY}", {"Range": "bytes=-10"})
    assert (status, body) == (206, DATA[-10:])


@pytest.mark.parametrize("path", ["/" + "a" * 256, "/metal-os/" + "x" * 300 + "/img.tar.lz4",
                                  "/" + "%C3%A9" * 128, "/loop", "/loop/x", "/a", "/b/c"])
def test_long_segments_and_symlink_loops_are_not_found(base: str, path: str) -> None:
    status, _, body = get(base, path)
    assert status in (404, 414, 307), (status, body[:300])  # cache-sync's miss is a redirect
    assert b"Traceback" not in body and status != 500
