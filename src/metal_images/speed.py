"""A minimum-speed rule and an overall deadline for downloads.

A socket timeout only fires when nothing at all arrives; a server that trickles a few
bytes a second keeps every read alive and can hold a download (and every later sync
round) forever. `SpeedGuard` is told about every chunk that arrives and stops the
transfer when, over a window of `window` seconds, fewer than `min_rate` bytes per second
arrived, or when the whole transfer has taken longer than `deadline`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from metal_images.errors import MetalImagesError
from metal_images.sizes import format_size


class TooSlow(MetalImagesError):
    """A transfer fell below the minimum speed or ran past its deadline."""


def _rate(value: float) -> str:
    return f"{format_size(int(value))}/s"


@dataclass(frozen=True)
class SpeedRule:
    min_rate: int = 64 << 10  # bytes per second; 0: no minimum
    window: float = 30.0  # seconds the average is taken over
    deadline: float | None = None  # seconds for the whole transfer; None: no deadline


class SpeedGuard:
    """Counts the bytes of one transfer against a SpeedRule; `count` raises TooSlow."""

    def __init__(self, rule: SpeedRule, what: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.rule = rule
        self.what = what
        self.clock = clock
        self.started = self.window_start = clock()
        self.window_bytes = 0

    def count(self, received: int) -> None:
        now = self.clock()
        deadline = self.rule.deadline
        if deadline is not None and now - self.started > deadline:
            raise TooSlow(f"{self.what}: not done after {deadline:g}s (the overall deadline)")
        self.window_bytes += received
        elapsed = now - self.window_start
        if self.rule.min_rate and elapsed >= self.rule.window:
            rate = self.window_bytes / elapsed
            if rate < self.rule.min_rate:
                raise TooSlow(f"{self.what}: too slow: {_rate(rate)} over the last {elapsed:.0f}s, "
                              f"the minimum is {_rate(self.rule.min_rate)}")
            self.window_start, self.window_bytes = now, 0
