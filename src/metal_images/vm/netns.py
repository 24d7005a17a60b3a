"""A network namespace the test creates and always deletes."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

from metal_images.runner import Result, probe, run


def ns_argv(namespace: str, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", namespace, *argv]


def ns_run(namespace: str, argv: Sequence[str], *, check: bool = True, timeout: float | None = 60) -> Result:
    return run(ns_argv(namespace, argv), check=check, timeout=timeout)


def _pids_in(namespace: str) -> list[int]:
    return [int(p) for p in probe(["ip", "netns", "pids", namespace]).stdout.split() if p.isdigit()]


@contextmanager
def network_namespace(name: str) -> Iterator[str]:
    """Create `name` with lo up; on exit kill what still runs in it, then delete it."""
    run(["ip", "netns", "add", name])
    try:
        ns_run(name, ["ip", "link", "set", "lo", "up"])
        yield name
    finally:
        # only processes inside the namespace this test created
        for pid in _pids_in(name):
            with suppress(ProcessLookupError):
                os.kill(pid, 9)
        run(["ip", "netns", "delete", name], check=False)
