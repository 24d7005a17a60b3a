"""`metal-images serve` as a real process, exercised with a real HTTP client (requests, and
http.client for raw, unnormalised paths)."""

from __future__ import annotations

import http.client
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.serve_process import ServeProcess, serve_process

pytestmark = pytest.mark.timeout(60)

BLOB = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    root = tmp_path_factory.mktemp("store")
    folder = root / "metal-os/stable/debian/12"
    folder.mkdir(parents=True)
    (folder / "img.tar.lz4").write_bytes(BLOB)
    (folder / "img.tar.lz4.md5").write_text("0123456789abcdef0123456789abcdef  img.tar.lz4\n")
    (folder / ".img.tar.lz4.x.tmp").write_bytes(b"half an upload")
    (root / "metal-os/escape").symlink_to("/etc")
    with serve_process(root) as server:
        yield server
    assert server.process.returncode == 0


IMG = "metal-os/stable/debian/12/img.tar.lz4"


def raw_get(served: ServeProcess, path: str) -> tuple[int, bytes]:
    """A request line sent exactly as written (no client-side dot-segment cleanup)."""
    conn = http.client.HTTPConnection(served.host, served.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_get_whole_file(served: ServeProcess) -> None:
    r = requests.get(served.url + IMG, timeout=10)
    assert r.status_code == 200 and r.content == BLOB
    assert int(r.headers["Content-Length"]) == len(BLOB)
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["ETag"] and r.headers["Last-Modified"]
    md5 = requests.get(served.url + IMG + ".md5", timeout=10)
    assert md5.headers["Content-Type"].startswith("text/plain") and md5.text.endswith("  img.tar.lz4\n")


def test_head(served: ServeProcess) -> None:
    r = requests.head(served.url + IMG, timeout=10)
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["Content-Length"]) == len(BLOB)


def test_ranges(served: ServeProcess) -> None:
    r = requests.get(served.url + IMG, headers={"Range": "bytes=100-199"}, timeout=10)
    assert r.status_code == 206 and r.content == BLOB[100:200]
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(BLOB)}"
    tail = requests.get(served.url + IMG, headers={"Range": "bytes=-10"}, timeout=10)
    assert tail.status_code == 206 and tail.content == BLOB[-10:]
    rest = requests.get(served.url + IMG, headers={"Range": f"bytes={len(BLOB) - 5}-"}, timeout=10)
    assert rest.status_code == 206 and rest.content == BLOB[-5:]
    bad = requests.get(served.url + IMG, headers={"Range": f"bytes={len(BLOB)}-"}, timeout=10)
    assert bad.status_code == 416
    assert bad.headers["Content-Range"] == f"bytes */{len(BLOB)}"


def test_conditional_requests(served: ServeProcess) -> None:
    first = requests.get(served.url + IMG, timeout=10)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = requests.get(served.url + IMG, headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    since = requests.get(served.url + IMG, headers={"If-Modified-Since": modified}, timeout=10)
    assert since.status_code == 304
    other = requests.get(served.url + IMG, headers={"If-None-Match": '"something-else"'}, timeout=10)
    assert other.status_code == 200 and other.content == BLOB


def test_json_and_html_listings(served: ServeProcess) -> None:
    listing = requests.get(
        served.url + "metal-os/stable/debian/12/", headers={"Accept": "application/json"}, timeout=10
    )
    assert listing.headers["Content-Type"].startswith("application/json")
    entries = {e["name"]: e for e in listing.json()["entries"]}
    assert set(entries) == {"img.tar.lz4", "img.tar.lz4.md5"}  # the temp file is hidden
    assert entries["img.tar.lz4"]["size"] == len(BLOB) and entries["img.tar.lz4"]["type"] == "file"
    query = requests.get(served.url + "metal-os/stable/?format=json", timeout=10).json()
    assert query["entries"] == [{**query["entries"][0], "name": "debian/", "type": "directory"}]
    page = requests.get(served.url + "metal-os/stable", timeout=10)  # redirected to the slash
    assert page.history and page.history[0].status_code == 301
    # a channel's folder is the store page (tests/integration/test_store_page.py); ?index the files
    assert page.headers["Content-Type"].startswith("text/html") and '<table id="images">' in page.text
    index = requests.get(served.url + "metal-os/stable/?index", timeout=10)
    assert index.headers["Content-Type"].startswith("text/html") and 'href="debian/"' in index.text


@pytest.mark.parametrize(
    "path",
    [
        "/../etc/passwd",
        "/metal-os/../../etc/passwd",
        "/%2e%2e/etc/passwd",
        "/metal-os/%2e%2e/%2e%2e/etc/passwd",
        "/metal-os/..%2f..%2fetc/passwd",
        "/%2fetc/passwd",
        "/metal-os/escape/passwd",  # a symlink out of the root
        "/metal-os/stable/debian/12/.img.tar.lz4.x.tmp",  # an upload in progress
        "/metal-os/stable/debian/12/missing",
    ],
)
def test_nothing_outside_the_root(served: ServeProcess, path: str) -> None:
    status, body = raw_get(served, path)
    assert status in (400, 403, 404), (path, status)
    assert b"root:" not in body


def test_serve_refuses_s3_and_bad_bind(tmp_path: Path) -> None:
    s3 = subprocess.run(
        [sys.executable, "-m", "metal_images.cli", "serve", "s3://images"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert s3.returncode == 2 and "S3 store" in s3.stderr
    bind = subprocess.run(
        [sys.executable, "-m", "metal_images.cli", "serve", str(tmp_path), "--bind", "nowhere"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bind.returncode == 2 and "--bind 'nowhere'" in bind.stderr
