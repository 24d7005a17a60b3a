"""Bounded retries with exponential backoff for store and metal-api requests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from metal_images import ui
from metal_images.errors import MetalImagesError

T = TypeVar("T")


class FetchError(MetalImagesError):
    """A request to the store or the metal-api failed for good (404, 403, bad data)."""


class TransientError(FetchError):
    """Worth another try: 5xx, 429, timeouts, broken connections, a corrupted transfer."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    min_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): 1, 2, 4, ... capped."""
        return float(min(self.max_delay, self.min_delay * (2 ** (attempt - 1))))


def with_retries(what: str, action: Callable[[], T], policy: RetryPolicy,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `action`; on a TransientError wait and retry, at most `policy.attempts` times in all."""
    attempt = 1
    while True:
        try:
            return action()
        except TransientError as exc:
            if attempt >= policy.attempts:
                raise TransientError(f"{what}: gave up after {attempt} attempts: {exc.message}") from exc
            delay = policy.delay(attempt)
            ui.warn(f"{what}: {exc.message}; retry {attempt}/{policy.attempts - 1} in {delay:.1f}s")
            sleep(delay)
            attempt += 1
