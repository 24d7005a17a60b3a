"""`metal-images serve` as a real child process on loopback, for tests and benchmarks."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metal_images.errors import MetalImagesError


@dataclass(frozen=True)
class ServeProcess:
    url: str  # http://127.0.0.1:PORT/
    host: str
    port: int
    process: subprocess.Popen[str]  # its returncode is set once the context has exited


def stop(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """SIGTERM (the way a service manager stops a server), SIGKILL if it outlives `timeout`."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serve_process(root: Path) -> Iterator[ServeProcess]:
    """Serve `root` on a free loopback port until the block ends, then stop it."""
    argv = [sys.executable, "-m", "metal_images.cli", "serve", str(root), "--bind", "127.0.0.1:0"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()  # "serving file:///... at http://127.0.0.1:PORT/"
        if " at http://127.0.0.1:" not in line:
            stop(process)
            raise MetalImagesError(f"serve {root} did not start: {line.strip()} {process.stderr.read()}")
        url = line.rsplit(" at ", 1)[1].strip()
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        yield ServeProcess(url, "127.0.0.1", port, process)
    finally:
        stop(process)
