"""cache-sync download throughput against curl, and peak memory for a 1 GiB vs a 100 MiB image.

Both clients fetch the same file from the same local HTTP server (nginx when installed,
else an aiohttp server in its own process) on 127.0.0.1 and write it to the same disk.
Rows:
  curl               curl -o <file>                          (targets: downloader >= 95 %,
                                                              cache-sync run >= 85 %)
  curl + md5sum      curl -o <file> && md5sum <file>        (what a verified download costs)
  curl + sha256sum   curl -o <file> && sha256sum <file>
  downloader         cache-sync's verified download alone    (sha256 while streaming, as the store
                     has .sha256; fsync, rename; timed inside the child, without start-up)
  downloader md5     the same for a store with only .md5     (md5 is the slower hash here)
  downloader -fsync  sha256, without the fsync               (what durability costs)
  cache-sync run     `metal-images cache-sync run --once`    (whole CLI: start-up, plan, download)
CPU is user + system time of the child (where the CPU is shared, throughput follows it).
Peak memory is ru_maxrss of the child process (this process stays small, so a forked
child does not inherit a large RSS before exec).

Usage: .venv/bin/python bench/cachesync_bench.py [--size-mib 1024] [--small-mib 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLI = str(Path(sys.executable).with_name("metal-images"))
KEY = "metal-os/stable/debian/12/img.tar.lz4"


@dataclass
class Sample:
    seconds: float
    max_rss_kib: int
    cpu_seconds: float


def run_child(argv: Sequence[str], env: dict[str, str] | None = None) -> Sample:
    """Run a child, return wall time and its peak RSS (from wait4)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        # not communicate(): it would reap the child before wait4 could read its rusage
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, env=env)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        errors.seek(0)
        err = errors.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        tail = err.decode()[-2000:]
        raise SystemExit(f"benchmark child failed ({proc.returncode}): {' '.join(argv)}\n{tail}")
    # a child may report its own transfer time (without interpreter start-up) on stdout
    inner = out.decode().strip().splitlines()[-1:] if out.strip() else []
    if inner and inner[0].startswith("transfer-seconds "):
        elapsed = float(inner[0].split()[1])
    return Sample(elapsed, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime)


def make_file(path: Path, size: int) -> tuple[str, str]:
    """The image and its .md5 and .sha256 (as publish writes them); returns both sums."""
    path.parent.mkdir(parents=True, exist_ok=True)
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    block = os.urandom(1 << 20)
    with path.open("wb") as handle:
        for index in range(size >> 20):
            chunk = block[index % 251:] + block[: index % 251]  # not one repeated block
            handle.write(chunk)
            md5.update(chunk)
            sha256.update(chunk)
    path.with_name(path.name + ".md5").write_text(f"{md5.hexdigest()}  {path.name}\n")
    path.with_name(path.name + ".sha256").write_text(f"{sha256.hexdigest()}  {path.name}\n")
    return md5.hexdigest(), sha256.hexdigest()


@contextmanager
def http_server(root: Path) -> Iterator[tuple[str, str]]:
    """(base URL, server name) of a server for `root` on 127.0.0.1."""
    port = _free_port()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx:
        conf = root.parent / "nginx.conf"
        tmp = root.parent / "nginx-tmp"
        tmp.mkdir(exist_ok=True)
        conf.write_text(
            f"daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log; worker_processes 1;\n"
            "events {}\n"
            f"http {{ access_log off; sendfile on; client_body_temp_path {tmp}; proxy_temp_path {tmp};\n"
            f" fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};\n"
            f" server {{ listen 127.0.0.1:{port}; root {root}; }} }}\n")
        argv = [nginx, "-c", str(conf)]
        name = "nginx"
    else:
        code = ("import sys; from aiohttp import web; from pathlib import Path;"
                "from tests.support.store_servers import StoreServer;"
                "web.run_app(StoreServer(Path(sys.argv[1])).app(), host='127.0.0.1', port=int(sys.argv[2]),"
                " print=None)")
        argv = [sys.executable, "-c", code, str(root), str(port)]
        name = "aiohttp"
    proc = subprocess.Popen(argv, stderr=subprocess.DEVNULL, cwd=HERE.parent)  # -c imports tests/ from here
    try:
        _wait_port(port)
        yield f"http://127.0.0.1:{port}", name
    finally:
        proc.terminate()
        proc.wait(10)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"benchmark server did not start on port {port}")


def download_one(url: str, dest: str, md5: str, sha256: str | None, durable: bool) -> None:
    """Child mode: one verified download with cache-sync's downloader (sha256 when given)."""
    from metal_images.cachesync.download import download_verified
    from metal_images.cachesync.store import HttpStore, ObjectRef

    store = HttpStore(url, timeout=30)
    final = Path(dest)
    started = time.perf_counter()
    with store.open(ObjectRef(KEY)) as source:
        download_verified(source, final, final.parent / "tmp", md5, inside=final.parent, what=KEY,
                          durable=durable, expected_sha256=sha256)
    print(f"transfer-seconds {time.perf_counter() - started:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small-mib", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", default="/var/tmp")
    parser.add_argument("--download-one", nargs=5, metavar=("URL", "DEST", "MD5", "SHA256", "FSYNC"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.download_one:
        url, dest, md5, sha256, fsync = args.download_one
        download_one(url, dest, md5, None if sha256 == "-" else sha256, fsync == "fsync")
        return
    if not shutil.which("curl"):
        raise SystemExit("curl is needed (apt-get install curl)")

    with tempfile.TemporaryDirectory(prefix="cachesync-bench-", dir=args.workdir) as work_name:
        work = Path(work_name)
        work.chmod(0o755)  # nginx workers run as an unprivileged user
        rows: list[tuple[str, int, Sample]] = []
        sums = {}
        for label, mib in (("big", args.size_mib), ("small", args.small_mib)):
            sums[label] = make_file(work / label / "store" / KEY, mib << 20)
        for label, mib in (("big", args.size_mib), ("small", args.small_mib)):
            store = work / label / "store"
            entities = [{"id": "debian-12.0.20240101", "url": f"http://images.metal-stack.io/{KEY}"}]
            (work / label / "images.json").write_text(json.dumps(entities))
            with http_server(store) as (base, server_name):
                url = f"{base}/{KEY}"
                runs = args.runs if label == "big" else 1
                for _ in range(runs):
                    dest = work / label / "curl.out"
                    rows.append(("curl", mib, run_child(["curl", "-sSf", "-o", str(dest), url])))
                    dest.unlink()
                    for tool in ("md5sum", "sha256sum"):
                        rows.append((f"curl + {tool}", mib, run_child(
                            ["sh", "-c", f"curl -sSf -o {dest} {url} && {tool} {dest} >/dev/null"])))
                        dest.unlink()
                    md5, sha256 = sums[label]
                    variants = (("downloader", sha256, "fsync"), ("downloader md5", "-", "fsync"),
                                ("downloader -fsync", sha256, "no"))
                    for name, sha, fsync in variants:
                        rows.append((name, mib, run_child(
                            [sys.executable, __file__, "--download-one", base, str(work / label / "dl.out"),
                             md5, sha, fsync])))
                        (work / label / "dl.out").unlink()
                    cache = work / label / "cache"
                    shutil.rmtree(cache, ignore_errors=True)
                    cache.mkdir()
                    rows.append(("cache-sync run", mib, run_child(
                        [CLI, "-q", "cache-sync", "run", "--once", "--store-url", base + "/", "--image-list",
                         str(work / label / "images.json"), "--cache-root-path", str(cache)])))
                    with (cache / "images" / KEY).open("rb") as handle:  # streamed: keep this process small
                        got = hashlib.file_digest(handle, "md5").hexdigest()
                    assert got == sums[label][0], "cache-sync wrote a wrong file"
                    shutil.rmtree(cache)
        report(rows, server_name, args.size_mib, args.small_mib)


def report(rows: list[tuple[str, int, Sample]], server: str, big: int, small: int) -> None:
    names = ["curl", "curl + md5sum", "curl + sha256sum", "downloader", "downloader md5", "downloader -fsync",
             "cache-sync run"]

    def median_seconds(name: str, mib: int) -> float:
        return statistics.median(s.seconds for n, m, s in rows if n == name and m == mib)

    def peak(name: str, mib: int) -> int:
        return max(s.max_rss_kib for n, m, s in rows if n == name and m == mib)

    curl = median_seconds("curl", big)
    load = os.getloadavg()[0]
    print(f"\ncache-sync download, {big} MiB over HTTP from {server} on 127.0.0.1 "
          f"(median of runs; load average {load:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'client':<18} {'seconds':>8} {'MiB/s':>8} {'vs curl':>8} {'CPU s':>6} {'peak RSS':>10}")
    for name in names:
        seconds = median_seconds(name, big)
        cpu = statistics.median(s.cpu_seconds for n, m, s in rows if n == name and m == big)
        print(f"{name:<18} {seconds:>8.2f} {big / seconds:>8.0f} {curl / seconds:>7.0%} {cpu:>6.2f} "
              f"{peak(name, big) / 1024:>7.0f} MiB")
    print(f"\npeak memory, {small} MiB vs {big} MiB image (must not grow)")
    print(f"{'client':<18} {f'{small} MiB':>10} {f'{big} MiB':>10} {'ratio':>7}")
    for name in ("downloader", "cache-sync run"):
        low, high = peak(name, small), peak(name, big)
        print(f"{name:<18} {low / 1024:>6.0f} MiB {high / 1024:>6.0f} MiB {high / low:>6.2f}x")


if __name__ == "__main__":
    main()
