"""`metal-images serve` vs nginx on the same file, both on loopback, in one run.

Writes one file (1 GiB of random bytes by default) into a temp store, starts nginx
(its own config and prefix, sendfile on, access log off) and `metal-images serve` on
127.0.0.1, warms the page cache, then downloads the file with curl (-o /dev/null)
alternately from both, several runs each, and prints MB/s with the ratio to nginx.

    .venv/bin/python bench/serve_bench.py [--size-mib 1024] [--runs 5] [--parallel 1] [--workdir /var/tmp]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests/support is not shipped
from tests.support.serve_process import serve_process, stop

KEY = "metal-os/stable/bench/1/img.tar.lz4"

NGINX_CONF = """
worker_processes 1;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, proc: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited early with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{name} did not listen on 127.0.0.1:{port}")


@contextmanager
def running(argv: list[str], port: int, name: str) -> Iterator[None]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, proc, name)
        yield
    finally:
        stop(proc)


def write_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(8 << 20)
    with path.open("wb") as out:
        remaining = size
        while remaining > 0:
            out.write(block[: min(len(block), remaining)])
            remaining -= len(block)


def curl_speed(url: str) -> float:
    """Bytes per second of one download to /dev/null, as curl measures it."""
    out = subprocess.run(
        ["curl", "-sS", "--fail", "-o", "/dev/null", "-w", "%{speed_download} %{size_download}", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0])


def parallel_speed(url: str, parallel: int) -> float:
    """Aggregate bytes per second of `parallel` simultaneous curl downloads."""
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            ["curl", "-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download}", url],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(parallel)
    ]
    total = 0
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"curl {url} failed with {proc.returncode}")
        total += int(float(out))
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=1, help="simultaneous downloads per run")
    parser.add_argument("--workdir", default="/var/tmp")
    args = parser.parse_args()
    if not shutil.which("nginx") or not shutil.which("curl"):
        raise SystemExit("needs nginx (nginx-light) and curl")

    with tempfile.TemporaryDirectory(prefix="metal-images-serve-bench.", dir=args.workdir) as tmp:
        work = Path(tmp)
        root, prefix = work / "store", work / "nginx"
        prefix.mkdir()
        os.chmod(work, 0o755)  # nginx workers run as nobody
        size = args.size_mib << 20
        write_file(root / KEY, size)
        nginx_port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=prefix, port=nginx_port, root=root))
        nginx = ["nginx", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
        with running(nginx, nginx_port, "nginx"), serve_process(root) as served:
            urls = {"nginx": f"http://127.0.0.1:{nginx_port}/{KEY}", "metal-images serve": served.url + KEY}
            speeds: dict[str, list[float]] = {name: [] for name in urls}
            for url in urls.values():
                curl_speed(url)  # warm-up: the file in the page cache, both servers ready
            for _ in range(args.runs):
                for name, url in urls.items():
                    if args.parallel > 1:
                        speeds[name].append(parallel_speed(url, args.parallel))
                    else:
                        speeds[name].append(curl_speed(url))

    base = statistics.median(speeds["nginx"])
    print(
        f"\nserve benchmark: {args.size_mib} MiB file, {args.runs} runs each, curl -o /dev/null, loopback\n"
    )
    print(f"{'server':<20} {'median MB/s':>12} {'best MB/s':>10} {'worst MB/s':>11} {'vs nginx':>9}")
    for name, values in speeds.items():
        median = statistics.median(values)
        print(
            f"{name:<20} {median / 1e6:>12.0f} {max(values) / 1e6:>10.0f} {min(values) / 1e6:>11.0f} "
            f"{median / base:>8.0%}"
        )


if __name__ == "__main__":
    main()
