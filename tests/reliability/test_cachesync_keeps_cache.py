"""A failed round keeps what was cached (issue 14.4, docs/cachesync.md): when the newer
image that replaces an older one cannot be downloaded, the older one stays; it goes only
in a round where its replacement arrived.

Real `metal-images cache-sync run --once` against a real HTTP store on 127.0.0.1 that
corrupts the new image's bytes on purpose (md5 mismatch)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.store_servers import StoreServer, serve_in_thread

CLI = str(Path(sys.executable).with_name("metal-images"))
OLD = "metal-os/20240101/debian/12/img.tar.lz4"
NEW = "metal-os/20240201/debian/12/img.tar.lz4"


def publish(store: Path, key: str) -> bytes:
    data = os.urandom(200_000)
    path = store / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.with_name(path.name + ".md5").write_text(f"{hashlib.md5(data).hexdigest()}  {path.name}\n")
    return data


def test_old_image_stays_until_its_replacement_is_in_place(tmp_path: Path) -> None:
    store, cache = tmp_path / "store", tmp_path / "cache"
    cache.mkdir()
    old = publish(store, OLD)
    entities = [{"id": "debian-12.0.20240101", "url": f"http://images.metal-stack.io/{OLD}"}]
    image_list = tmp_path / "images.json"
    server = StoreServer(store)
    with serve_in_thread(server.app()) as url:

        def sync() -> subprocess.CompletedProcess[str]:
            image_list.write_text(json.dumps(entities))
            argv = [CLI, "cache-sync", "run", "--once", "--store-url", url + "/",
                    "--image-list", str(image_list), "--cache-root-path", str(cache),
                    "--max-images-per-name", "1", "--retries", "2", "--retry-delay", "0.05"]
            return subprocess.run(argv, capture_output=True, text=True, timeout=120)

        assert sync().returncode == 0
        new = publish(store, NEW)
        entities.append({"id": "debian-12.0.20240201", "url": f"http://images.metal-stack.io/{NEW}"})
        server.corrupt.add(NEW)
        failed = sync()
        assert failed.returncode == 1
        assert "md5 mismatch" in failed.stderr
        assert (cache / "images" / OLD).read_bytes() == old
        assert (cache / "images" / (OLD + ".md5")).is_file()
        assert not (cache / "images" / NEW).exists()
        assert "stay cached until a round succeeds" in failed.stderr

        server.corrupt.clear()
        done = sync()
        assert done.returncode == 0, done.stderr
        assert (cache / "images" / NEW).read_bytes() == new
        assert not (cache / "images" / OLD).exists()
