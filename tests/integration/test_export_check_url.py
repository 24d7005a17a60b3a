"""`check` on an image served over HTTP by a real server on 127.0.0.1 (started here)."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from metal_images.artifact import registry
from metal_images.contract.report import check_archive
from metal_images.errors import MetalImagesError
from tests.support import archive_sample as sample


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A directory served at http://127.0.0.1:<port>/; shut down on every exit path."""
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_good_image_over_http(store: tuple[str, Path]) -> None:
    base, root = store
    path = sample.write_archive(root / "metal-os/stable/debian/12")
    (path.parent / registry.SHA512).write_text(
        f"{hashlib.sha512(path.read_bytes()).hexdigest()}  {registry.IMAGE}\n")
    report = check_archive(f"{base}/metal-os/stable/debian/12/{registry.IMAGE}")
    status = {r.rule.id: r.status for r in report.results}
    assert report.ok(), [(r.rule.id, r.reason) for r in report.results if r.status != "pass"]
    assert status["md5-sidecar"] == "pass" and status["sha-sidecars"] == "pass"
    assert report.facts.compressed_size == path.stat().st_size


def test_wrong_md5_over_http(store: tuple[str, Path]) -> None:
    base, root = store
    path = sample.write_archive(root / "img")
    (path.parent / registry.MD5).write_text("0" * 32 + "  img.tar.lz4\n")
    report = check_archive(f"{base}/img/{registry.IMAGE}")
    assert {r.rule.id for r in report.results if r.status == "fail"} == {"md5-sidecar"}


def test_truncated_image_over_http(store: tuple[str, Path]) -> None:
    base, root = store
    path = sample.write_archive(root / "img", md5=False)
    path.write_bytes(path.read_bytes()[:-40])
    report = check_archive(f"{base}/img/{registry.IMAGE}")
    assert "lz4-frame" in {r.rule.id for r in report.results if r.status == "fail"}


def test_missing_url_is_one_clear_error(store: tuple[str, Path]) -> None:
    base, _ = store
    with pytest.raises(MetalImagesError, match="HTTP 404"):
        check_archive(f"{base}/nothing/{registry.IMAGE}")
