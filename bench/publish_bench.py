"""Publish throughput to the file and S3 backends, beside the plain tools, in one run.

Makes one artifact set with an image of --size-mib (random, incompressible), then times:

    file   `cp` + `sync` of the image   vs  `metal-images publish` to a directory store
           (alternating, median of --runs)
    s3     boto3 upload_file, defaults   vs  `metal-images publish` to s3:// (moto on 127.0.0.1)

plus a re-publish of the unchanged set (everything skipped by checksum) and the CLI's
start-up time, which every publish row includes. The S3 figures measure moto, a Python
server, as much as the client: compare the ratio, not the MB/s.

    .venv/bin/python bench/publish_bench.py [--size-mib 1024] [--runs 3] [--workdir /var/tmp]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3

from metal_images.artifact.registry import IMAGE

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests/support is not shipped
from tests.support.store_sample import local_s3, make_artifact_set


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def cli(*args: str, env_endpoint: str | None = None) -> None:
    argv = [sys.executable, "-m", "metal_images.cli", "-q", *args]
    if env_endpoint:
        argv += ["--endpoint-url", env_endpoint]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3, help="file backend: runs, median reported")
    parser.add_argument("--workdir", default="/var/tmp")
    args = parser.parse_args()

    rows: list[tuple[str, str, float, float | None]] = []  # backend, what, seconds, reference seconds
    with tempfile.TemporaryDirectory(prefix="metal-images-publish-bench.", dir=args.workdir) as tmp:
        work = Path(tmp)
        directory = make_artifact_set(work / "out/stable/bench/1", payload_size=args.size_mib << 20)
        size = sum(p.stat().st_size for p in directory.iterdir())
        image = directory / IMAGE

        cli("--version")  # warm the file cache for the imports
        startup = timed(lambda: cli("--version"))
        # publish fsyncs before the rename, so the floor is cp plus an fsync of the copy
        copy = work / "copy"
        store = work / "store"
        cp_times, publish_times = [], []
        for _ in range(args.runs):  # alternate, fresh targets each time: the disk is shared and noisy
            copy.unlink(missing_ok=True)
            shutil.rmtree(store, ignore_errors=True)
            store.mkdir()
            cp = ["sh", "-c", 'cp "$1" "$2" && sync "$2"', "-", str(image), str(copy)]
            cp_times.append(timed(lambda: subprocess.run(cp, check=True)))  # noqa: B023
            publish_times.append(timed(lambda: cli("publish", str(directory), "--store", f"file://{store}")))
        cp_time, publish_time = statistics.median(cp_times), statistics.median(publish_times)
        again_time = timed(lambda: cli("publish", str(directory), "--store", f"file://{store}"))
        rows += [
            ("-", "CLI start-up (--version)", startup, None),
            ("file", "cp + sync (reference)", cp_time, None),
            ("file", "publish", publish_time, cp_time),
            ("file", "publish again (all skipped)", again_time, None),
        ]

        with local_s3() as s3:
            client = boto3.client("s3", endpoint_url=s3.endpoint_url)
            upload_time = timed(lambda: client.upload_file(str(image), s3.bucket, "reference/img.tar.lz4"))
            s3_time = timed(
                lambda: cli(
                    "publish", str(directory), "--store", f"s3://{s3.bucket}", env_endpoint=s3.endpoint_url
                )
            )
            s3_again = timed(
                lambda: cli(
                    "publish", str(directory), "--store", f"s3://{s3.bucket}", env_endpoint=s3.endpoint_url
                )
            )
        rows += [
            ("s3 (moto)", "boto3 upload_file (reference)", upload_time, None),
            ("s3 (moto)", "publish", s3_time, upload_time),
            ("s3 (moto)", "publish again (all skipped)", s3_again, None),
        ]

    print(f"\npublish benchmark: artifact set of {size / 2**20:.0f} MiB (image {args.size_mib} MiB)\n")
    print(f"{'backend':<10} {'what':<30} {'seconds':>8} {'MB/s':>8} {'vs reference':>13}")
    for backend, what, seconds, reference in rows:
        rate = f"{size / seconds / 1e6:>8.0f}" if backend != "-" and "skipped" not in what else f"{'-':>8}"
        ratio = f"{reference / seconds:>12.0%}" if reference else f"{'':>12}"
        print(f"{backend:<10} {what:<30} {seconds:>8.2f} {rate} {ratio}")


if __name__ == "__main__":
    main()
