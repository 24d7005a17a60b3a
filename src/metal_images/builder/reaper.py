"""Stop processes left running inside a chroot before its mounts go away.

A step may start a daemon, and an interrupted step leaves its children behind (the
runner stops only the command it started). Any process whose root directory is the
tree is killed when the block ends, on every exit path.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from metal_images import ui


def processes_in(root: Path) -> list[int]:
    target = os.path.realpath(root)
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry.name}/root") == target:
                found.append(int(entry.name))
        except OSError:
            continue  # gone already, or a kernel thread
    return found


def kill_processes_in(root: Path, grace: float = 2.0) -> list[int]:
    pids = processes_in(root)
    if not pids:
        return []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and processes_in(root):
            time.sleep(0.1)
        if not processes_in(root):
            break
    ui.warn(f"stopped {len(pids)} process(es) left running in {root}")
    return pids


@contextmanager
def reaped(root: Path) -> Iterator[None]:
    try:
        yield
    finally:
        kill_processes_in(root)
