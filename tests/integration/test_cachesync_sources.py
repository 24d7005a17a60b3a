"""cache-sync against real servers on 127.0.0.1: a moto S3 store, a tiny metal-api (aiohttp),
HTTP kernel and boot-image URLs, and the `run --once` / `plan` CLI end to end."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from metal_images.cachesync.config import CacheSyncConfig
from metal_images.cachesync.planner import Action
from metal_images.cachesync.syncer import Syncer
from tests.support.store_servers import SEEN_HEADERS, StoreServer, metal_api_app, serve_in_thread


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)  # the store is read anonymously, like upstream
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def put_image(files: dict[str, bytes], key: str, size: int) -> str:
    data = os.urandom(size)
    files[key] = data
    files[key + ".md5"] = f"{hashlib.md5(data).hexdigest()}  img.tar.lz4\n".encode()
    return key


def image(image_id: str, key: str) -> dict[str, object]:
    return {"id": image_id, "name": image_id, "url": f"http://images.metal-stack.io/{key}",
            "features": ["machine"], "classification": "supported"}


def test_s3_store_and_metal_api(tmp_path: Path, moto_endpoint: str) -> None:
    files: dict[str, bytes] = {}
    old = put_image(files, "metal-os/20240101/debian/12/img.tar.lz4", 300_000)
    new = put_image(files, "metal-os/20240201/debian/12/img.tar.lz4", 400_000)
    ubuntu = put_image(files, "metal-os/stable/ubuntu/24.04/img.tar.lz4", 200_000)
    files["metal-os/stable/almalinux/9/img.tar.lz4"] = b"no checksum beside me"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket="images")
    for key, data in files.items():
        s3.put_object(Bucket="images", Key=key, Body=data, ACL="public-read")  # like the public store
    images = [image("debian-12.0.20240101", old), image("debian-12.0.20240201", new),
              image("ubuntu-24.04.20240201", ubuntu),
              image("almalinux-9.0.20240201", "metal-os/stable/almalinux/9/img.tar.lz4")]
    # kernels and boot images come over plain HTTP from the partitions' bootconfig
    boot_root = tmp_path / "web"
    (boot_root / "metal-hammer").mkdir(parents=True)
    (boot_root / "kernel").mkdir()
    initrd = os.urandom(50_000)
    (boot_root / "metal-hammer/initrd.img.lz4").write_bytes(initrd)
    (boot_root / "metal-hammer/initrd.img.lz4.md5").write_text(hashlib.md5(initrd).hexdigest() + "\n")
    (boot_root / "kernel/vmlinuz").write_bytes(b"kernel" * 1000)
    web = StoreServer(boot_root)
    cache = tmp_path / "cache"
    cache.mkdir()
    with serve_in_thread(web.app()) as web_url:
        bootconfig = {"imageurl": f"{web_url}/metal-hammer/initrd.img.lz4",
                      "kernelurl": f"{web_url}/kernel/vmlinuz"}
        # two partitions with the same boot config: each URL is cached once
        partitions: list[dict[str, object]] = [{"id": "p1", "bootconfig": bootconfig},
                                               {"id": "p2", "bootconfig": bootconfig}]
        api = metal_api_app(images, partitions, required_auth="Metal-View ")
        with serve_in_thread(api) as api_url:
            config = CacheSyncConfig(cache_root_path=cache, store_url="s3://images",
                                     image_store=moto_endpoint, metal_api_endpoint=api_url,
                                     metal_api_hmac="view-key",
                                     max_images_per_name=1, retry_delay=0.01).validate(needs_images=True)
            report = Syncer(config).run_round()
            seen = api[SEEN_HEADERS]
            assert all(h["Authorization"].startswith("Metal-View ") and h["X-Date"] for h in seen)
            second = Syncer(config).run_round()
    plans = {p.name: p.plan for p in report.plans}
    actions = {i.subpath: i.action for i in plans["images"].items}
    assert actions == {new: Action.DOWNLOAD, ubuntu: Action.DOWNLOAD}
    assert [s.id for s in plans["images"].skipped] == ["almalinux-9.0.20240201", "debian-12.0.20240101"]
    assert (cache / "images" / new).read_bytes() == files[new]
    assert (cache / "images" / (new + ".md5")).read_bytes() == files[new + ".md5"]
    assert not (cache / "images" / old).exists()
    assert (cache / "kernels/kernel/vmlinuz").read_bytes() == b"kernel" * 1000
    assert (cache / "boot-images/metal-hammer/initrd.img.lz4").read_bytes() == initrd
    assert report.downloaded == 4
    # the second round finds everything verified in place
    assert second.downloaded == 0
    assert all(i.action is Action.KEEP for p in second.plans for i in p.plan.items)


def test_cli_run_once_and_plan_against_a_directory_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    files: dict[str, bytes] = {}
    keys = [put_image(files, f"metal-os/2024010{d}/debian/12/img.tar.lz4", 100_000) for d in (1, 2, 3)]
    for key, data in files.items():
        (store / key).parent.mkdir(parents=True, exist_ok=True)
        (store / key).write_bytes(data)
    entities = [image(f"debian-12.0.2024010{d}", key) for d, key in zip((1, 2, 3), keys, strict=True)]
    (tmp_path / "images.json").write_text(json.dumps(entities))
    cache = tmp_path / "cache"
    cache.mkdir()
    cli = [sys.executable, "-m", "metal_images.cli", "cache-sync"]
    env = {**os.environ, "METAL_IMAGE_CACHE_SYNC_CACHE_ROOT_PATH": str(cache),
           "METAL_IMAGE_CACHE_SYNC_STORE_URL": f"file://{store}",
           "METAL_IMAGE_CACHE_SYNC_IMAGE_LIST": str(tmp_path / "images.json"),
           "METAL_IMAGE_CACHE_SYNC_MAX_CACHE_SIZE": "250K", "METAL_IMAGE_CACHE_SYNC_MIN_IMAGES_PER_NAME": "1",
           "COLUMNS": "200"}
    planned = subprocess.run([*cli, "plan"], env=env, capture_output=True, text=True, timeout=60)
    assert planned.returncode == 0, planned.stderr
    assert "ID" in planned.stdout and "ACTION" in planned.stdout
    assert planned.stdout.count(" download ") == 2 and "total size after sync: 195.3 KiB" in planned.stdout
    assert not (cache / "images").exists() or not any((cache / "images").rglob("*.lz4"))
    done = subprocess.run([*cli, "run", "--once"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    cached = sorted(p.relative_to(cache / "images").as_posix() for p in (cache / "images").rglob("*.lz4"))
    assert cached == keys[1:]
    dry = subprocess.run([*cli, "run", "--once", "--dry-run", "--min-images-per-name", "1",
                          "--max-images-per-name", "1"], env=env, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0 and "delete" in dry.stderr
    after = sorted(p.relative_to(cache / "images").as_posix() for p in (cache / "images").rglob("*.lz4"))
    assert after == cached
