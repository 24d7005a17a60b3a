"""Turn SIGTERM, SIGHUP (and SIGINT, even when a parent shell ignored it) into KeyboardInterrupt.

Python dies on SIGTERM without running `finally` blocks, which would leave /proc, /sys
and /dev mounted, loop devices attached or a VM running. Raised as KeyboardInterrupt
instead, every context manager unwinds (builds, shells and `test` all use it).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@contextmanager
def interruptible() -> Iterator[None]:
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
