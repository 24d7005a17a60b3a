"""Small but real artifact sets and a local S3 server, for tests and benchmarks.

`make_artifact_set` writes what export writes (a real img.tar.lz4, md5/sha256/sha512
sidecars in *sum format, a `dpkg -l` packages.txt); `local_s3` starts moto's S3 server
on loopback (a real HTTP S3 API; moto is a dev dependency).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import lz4.frame

from metal_images.artifact.registry import IMAGE, MD5, PACKAGES, SHA256, SHA512

DEFAULT_PACKAGES = {
    "base-files": "12.4+deb12u5",
    "bash": "5.2.15-2+b2",
    "linux-image-6.1.0-18-amd64": "6.1.76-1",
    "linux-image-amd64": "6.1.76-1",
    "openssh-server": "1:9.2p1-2+deb12u2",
    "systemd": "252.22-1~deb12u1",
}


def dpkg_list(packages: dict[str, str]) -> str:
    """Text in the format of `dpkg -l`."""
    lines = [
        "Desired=Unknown/Install/Remove/Purge/Hold",
        "| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend",
        "|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)",
        "||/ Name           Version          Architecture Description",
        "+++-==============-================-============-=================================",
    ]
    for name, version in sorted(packages.items()):
        lines.append(f"ii  {name + ':amd64':<14} {version:<16} amd64        the {name} package")
    return "\n".join(lines) + "\n"


def _sidecar(data_path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with data_path.open("rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return f"{digest.hexdigest()}  {IMAGE}\n"


def write_sidecars(directory: Path) -> None:
    for name, algorithm in ((SHA256, "sha256"), (SHA512, "sha512"), (MD5, "md5")):
        (directory / name).write_text(_sidecar(directory / IMAGE, algorithm))


def make_artifact_set(
    directory: Path,
    *,
    content: bytes = b"metal",
    packages: dict[str, str] | None = None,
    payload_size: int = 0,
) -> Path:
    """Write an artifact set into `directory` (.../<os>/<version>/). `content` varies the image;
    `payload_size` adds an incompressible file of that many bytes (for benchmarks)."""
    directory.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in (("etc/os-release", b'ID=debian\nVERSION_ID="12"\n'), ("etc/motd", content)):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    with lz4.frame.open(directory / IMAGE, "wb") as out:
        out.write(raw.getvalue())
        remaining = payload_size
        block = os.urandom(1 << 20)
        while remaining > 0:  # appended random bytes: a big, real, incompressible lz4 frame
            out.write(block[: min(len(block), remaining)])
            remaining -= len(block)
    (directory / PACKAGES).write_text(dpkg_list(packages or DEFAULT_PACKAGES))
    write_sidecars(directory)
    return directory


@dataclass(frozen=True)
class LocalS3:
    endpoint_url: str
    bucket: str


@contextmanager
def local_s3(bucket: str = "images") -> Iterator[LocalS3]:
    """moto's S3 server on 127.0.0.1 (any free port) with one bucket; env set for boto3."""
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")
    }
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # moto keeps its buckets per process, not per server: start from an empty one
        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        yield LocalS3(endpoint, bucket)
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
