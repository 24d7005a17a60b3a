"""The store page in a real browser: `metal-images serve` (and the cache's server) on
loopback answer `/` and a channel with the page; headless Chromium loads it and the test
reads the table from the DOM Chromium rendered. Hostile names from the store stay text.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from metal_images.artifact.registry import MD5, SBOM
from metal_images.cachesync.metrics import CacheMetrics
from metal_images.cachesync.server import make_app
from tests.support.serve_process import serve_process
from tests.support.store_sample import make_artifact_set
from tests.support.store_servers import serve_in_thread

HOSTILE = "<img/src=x/onerror=document.title='pwned'>"
OLD = {"bash": "5.2.15-2", "linux-image-6.1.0-18-amd64": "6.1.76-1", "openssl": "3.0.11-1",
       "systemd": "252.22-1"}
NEW = {"bash": "5.2.15-2+b2", "linux-image-6.1.0-20-amd64": "6.1.85-1", "systemd": "252.22-1",
       HOSTILE: "1.0<script>document.title='pwned'</script>"}

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None,
                                reason="chromium is not installed (scripts/bootstrap.sh installs it)")


class Dom(HTMLParser):
    """The page's title, its images table (cell texts per row), links and any script tags."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self.title = ""
        self.scripts = 0
        self._stack: list[str] = []
        self._in_table = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "table" and values.get("id") == "images":
            self._in_table = True
        if tag == "script" or tag == "img":
            self.scripts += 1
        if self._in_table and tag == "tr":
            self.rows.append([])
        if self._in_table and tag in ("td", "th") and self.rows:
            self.rows[-1].append("")
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self._stack and self._stack[-1] == "title":
            self.title += data
        if self._in_table and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def browse(url: str, profile: Path) -> Dom:
    """The DOM headless Chromium rendered for `url` (no network but loopback, fresh profile)."""
    argv = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", "--dump-dom", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Dom()
    dom.feed(done.stdout)
    return dom


def _store(root: Path) -> Path:
    make_artifact_set(root / "metal-os/20261101/debian/12", content=b"old", packages=OLD)
    stable = make_artifact_set(root / "metal-os/stable/debian/12", content=b"new", packages=NEW)
    (stable / SBOM).write_text('{"bomFormat": "CycloneDX"}\n')
    fw = make_artifact_set(root / "metal-os/stable/firewall/3.0-ubuntu", content=b"fw")
    (fw / MD5).write_text("<script>document.title='pwned'</script>  img.tar.lz4\n")
    make_artifact_set(root / "metal-os/pull_requests/7-fix/debian/12", content=b"pr")
    (root / "metal-os/pull_requests/7-fix/debian/12" / MD5).unlink()  # incomplete
    return root


def _by_channel_os(dom: Dom) -> dict[tuple[str, str], dict[str, str]]:
    header, *rows = dom.rows
    return {(r[2], r[0]): dict(zip(header, r, strict=True)) for r in rows}


def test_serve_answers_root_and_channels_with_the_page(tmp_path: Path) -> None:
    store = _store(tmp_path / "store")
    with serve_process(store) as server:
        dom = browse(server.url, tmp_path / "profile")
        stable = browse(server.url + "metal-os/stable/", tmp_path / "profile2")
        index = browse(server.url + "?index", tmp_path / "profile3")
    assert dom.title == "metal-images store"
    assert dom.scripts == 0  # nothing from the store became markup
    rows = _by_channel_os(dom)
    assert set(rows) == {("20261101", "debian"), ("stable", "debian"), ("stable", "firewall"),
                         ("pull_requests/7-fix", "debian")}
    debian = rows[("stable", "debian")]
    assert debian["Version"] == "12"
    assert debian["Packages"] == "4" and debian["SBOM"] == "SBOM"
    assert len(debian["MD5"]) == 32 and len(debian["SHA256"]) == 64
    changes = debian["Changes since the previous release"]
    # added: the new kernel and the hostile name; removed: the old kernel and openssl; bash changed
    assert changes.startswith("vs 20261101: +2 \N{MINUS SIGN}2 ~1")
    assert HOSTILE in changes and "1.0<script>document.title='pwned'</script>" in changes
    assert "kernel 6.1.0-18-amd64 (6.1.76-1) → 6.1.0-20-amd64 (6.1.85-1)" in changes
    assert rows[("stable", "firewall")]["MD5"] == "invalid"
    assert "INCOMPLETE" in rows[("pull_requests/7-fix", "debian")]["Image"]
    assert rows[("20261101", "debian")]["Date"] == "2026-11-01"
    assert rows[("20261101", "debian")]["Changes since the previous release"] == "—"
    assert "/metal-os/stable/debian/12/packages.txt" in dom.links
    assert "/metal-os/stable/debian/12/sbom.cdx.json" in dom.links
    assert "/metal-os/stable/debian/12/img.tar.lz4" in dom.links
    # one channel's page lists only that channel
    assert {key[0] for key in _by_channel_os(stable)} == {"stable"}
    assert stable.title == "metal-images store: stable"
    # the plain file index is still there
    assert "metal-os/" in index.links and not index.rows


def test_the_cache_server_shows_what_it_holds(tmp_path: Path) -> None:
    cache = tmp_path / "cache/images"
    make_artifact_set(cache / "metal-os/20261101/debian/12", content=b"old", packages=OLD)
    metrics = CacheMetrics("images", cache)
    with serve_in_thread(make_app(metrics)) as base:
        dom = browse(base + "/", tmp_path / "profile")
    rows = _by_channel_os(dom)
    assert list(rows) == [("20261101", "debian")]
    assert rows[("20261101", "debian")]["Packages"] == "4"
