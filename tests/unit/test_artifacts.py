"""build/artifacts.py against a real HTTP server on 127.0.0.1 (http.server in a thread)."""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from metal_images.builder import artifacts
from metal_images.catalog import ImageSpec
from metal_images.errors import MetalImagesError

BINARY = b"#!/bin/sh\necho firewall-controller\n" * 100


class Server:
    """A static file server on 127.0.0.1 that counts the requests it answered."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.requests: list[str] = []
        handler = partial(_CountingHandler, self, directory=str(folder))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/{name}"


class _CountingHandler(SimpleHTTPRequestHandler):
    def __init__(self, server_ref: Server, *args: Any, **kwargs: Any) -> None:
        self.server_ref = server_ref
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self.server_ref.requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    folder = tmp_path / "served"
    folder.mkdir()
    srv = Server(folder)
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()
        srv.thread.join(timeout=5)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("METAL_IMAGES_CACHE", str(cache))
    # loopback must never go through a proxy configured on the machine
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    return cache


@pytest.fixture
def root(tmp_path: Path) -> Path:
    tree = tmp_path / "root"
    (tree / "usr/local/bin").mkdir(parents=True)
    return tree


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_spec(items: list[dict[str, Any]], *, allow_missing: bool = False) -> ImageSpec:
    spec = ImageSpec.model_validate({
        "name": "firewall", "version": "3.0-ubuntu", "from": "ubuntu",
        "artifacts": items, "allow_missing_artifacts": allow_missing,
    })
    spec._family = "firewall"
    return spec


def tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_good_download_is_installed_with_its_mode(server: Server, root: Path) -> None:
    (server.folder / "fc").write_bytes(BINARY)
    spec = make_spec([{"name": "firewall-controller", "url": server.url("fc"), "sha256": sha256(BINARY),
                       "path": "/usr/local/bin/firewall-controller", "mode": "0750"}])
    assert artifacts.install_artifacts(spec, root) == []
    installed = root / "usr/local/bin/firewall-controller"
    assert installed.read_bytes() == BINARY
    assert installed.stat().st_mode & 0o7777 == 0o750


def test_checksum_mismatch_fails_even_when_missing_is_allowed(
        server: Server, root: Path, isolated_cache: Path) -> None:
    (server.folder / "fc").write_bytes(BINARY)
    wrong = sha256(b"something else")
    spec = make_spec([{"name": "firewall-controller", "url": server.url("fc"), "sha256": wrong,
                       "path": "/usr/local/bin/firewall-controller"}], allow_missing=True)
    with pytest.raises(MetalImagesError) as failure:
        artifacts.install_artifacts(spec, root)
    message = str(failure.value)
    assert "firewall-controller" in message
    assert wrong in message and sha256(BINARY) in message
    assert not (root / "usr/local/bin/firewall-controller").exists()
    assert list((isolated_cache / "artifacts").iterdir()) == []  # no partial or bad file kept


def test_unreachable_and_allowed_warns_and_reports_missing(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/droptailer-client"
    spec = make_spec([{"name": "droptailer", "url": url, "sha256": sha256(b"x"),
                       "path": "/usr/local/bin/droptailer-client"}], allow_missing=True)
    assert artifacts.install_artifacts(spec, root) == ["droptailer"]
    err = capsys.readouterr().err
    assert "warning:" in err and "droptailer" in err and url in err
    assert not (root / "usr/local/bin/droptailer-client").exists()


def test_http_error_and_allowed_is_missing_too(server: Server, root: Path) -> None:
    spec = make_spec([{"name": "tailscale", "url": server.url("no-such-file.tgz"), "sha256": sha256(b"x"),
                       "path": "/usr/local/lib/tailscale", "extract": True}], allow_missing=True)
    assert artifacts.install_artifacts(spec, root) == ["tailscale"]


def test_unreachable_and_not_allowed_is_one_clear_error(root: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/nftables-exporter.tgz"
    spec = make_spec([{"name": "nftables-exporter", "url": url, "sha256": sha256(b"x"),
                       "path": "/", "extract": True}])
    with pytest.raises(MetalImagesError) as failure:
        artifacts.install_artifacts(spec, root)
    message = str(failure.value)
    assert "nftables-exporter" in message and url in message
    assert "allow_missing_artifacts" in message
    assert "\n" not in message


def test_cache_is_reused_without_a_second_request(server: Server, root: Path) -> None:
    (server.folder / "fc").write_bytes(BINARY)
    spec = make_spec([{"name": "firewall-controller", "url": server.url("fc"), "sha256": sha256(BINARY),
                       "path": "/usr/local/bin/firewall-controller"}])
    artifacts.install_artifacts(spec, root)
    (root / "usr/local/bin/firewall-controller").unlink()
    artifacts.install_artifacts(spec, root)
    assert server.requests == ["/fc"]
    assert (root / "usr/local/bin/firewall-controller").read_bytes() == BINARY


def test_damaged_cache_is_fetched_again(server: Server, root: Path, isolated_cache: Path) -> None:
    (server.folder / "fc").write_bytes(BINARY)
    digest = sha256(BINARY)
    spec = make_spec([{"name": "firewall-controller", "url": server.url("fc"), "sha256": digest,
                       "path": "/usr/local/bin/firewall-controller"}])
    artifacts.install_artifacts(spec, root)
    (isolated_cache / "artifacts" / digest).write_bytes(b"bit rot")
    artifacts.install_artifacts(spec, root)
    assert server.requests == ["/fc", "/fc"]
    assert (isolated_cache / "artifacts" / digest).read_bytes() == BINARY


def test_extract_unpacks_at_path_with_strip(server: Server, root: Path) -> None:
    data = tgz({"tailscale_1.68.1_amd64/tailscaled": b"daemon",
                "tailscale_1.68.1_amd64/systemd/tailscaled.service": b"[Unit]\n"})
    (server.folder / "ts.tgz").write_bytes(data)
    spec = make_spec([{"name": "tailscale", "url": server.url("ts.tgz"), "sha256": sha256(data),
                       "path": "/usr/local/lib/tailscale", "extract": True, "strip": 1}])
    assert artifacts.install_artifacts(spec, root) == []
    assert (root / "usr/local/lib/tailscale/tailscaled").read_bytes() == b"daemon"
    assert (root / "usr/local/lib/tailscale/systemd/tailscaled.service").is_file()
    assert not (root / "usr/local/lib/tailscale/tailscale_1.68.1_amd64").exists()


def test_extract_at_root_follows_the_images_own_symlinks(server: Server, root: Path) -> None:
    (root / "usr/lib").mkdir(parents=True)
    (root / "lib").symlink_to("usr/lib")  # merged /usr, as on Ubuntu and Debian 12
    data = tgz({"usr/bin/nftables-exporter": b"exporter",
                "lib/systemd/system/nftables-exporter.service": b"[Service]\n"})
    (server.folder / "ne.tgz").write_bytes(data)
    spec = make_spec([{"name": "nftables-exporter", "url": server.url("ne.tgz"), "sha256": sha256(data),
                       "path": "/", "extract": True}])
    artifacts.install_artifacts(spec, root)
    assert (root / "usr/bin/nftables-exporter").read_bytes() == b"exporter"
    assert (root / "usr/lib/systemd/system/nftables-exporter.service").is_file()


def test_extract_refuses_members_that_leave_the_tree(server: Server, root: Path) -> None:
    data = tgz({"../escape": b"no"})
    (server.folder / "bad.tgz").write_bytes(data)
    spec = make_spec([{"name": "bad", "url": server.url("bad.tgz"), "sha256": sha256(data),
                       "path": "/opt/bad", "extract": True}])
    with pytest.raises(MetalImagesError, match="bad: refusing an unsafe archive member"):
        artifacts.install_artifacts(spec, root)
    assert not (root / "opt/escape").exists()


def test_path_through_an_absolute_symlink_is_refused(server: Server, root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "var").mkdir()
    (root / "var/run").symlink_to(outside)
    (server.folder / "fc").write_bytes(BINARY)
    spec = make_spec([{"name": "fc", "url": server.url("fc"), "sha256": sha256(BINARY),
                       "path": "/var/run/fc"}])
    with pytest.raises(MetalImagesError, match="leads out of the image"):
        artifacts.install_artifacts(spec, root)
    assert list(outside.iterdir()) == []
