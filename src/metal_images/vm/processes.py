"""Background processes (daemons, qemu) that are stopped on every exit path."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from metal_images import ui
from metal_images.errors import MetalImagesError


@contextmanager
def background(argv: Sequence[str], log: Path, *, name: str, stop_timeout: float = 10) -> Iterator[
        subprocess.Popen[bytes]]:
    """Start `argv` with output to `log`; terminate (then kill) it when the block ends."""
    ui.detail(f"$ {' '.join(argv)} > {log}")
    with open(log, "ab") as out:
        try:
            proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except FileNotFoundError as exc:
            raise MetalImagesError(f"{name}: command not found: {argv[0]}") from exc
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def require_running(proc: subprocess.Popen[bytes], name: str, log: Path) -> None:
    if proc.poll() is not None:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""
        raise MetalImagesError(f"{name} exited with code {proc.returncode} (log: {log})", detail=tail)
