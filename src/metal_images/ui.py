"""Progress a person can follow: nested step lines with durations, on stderr; results on stdout.

`with step("bootstrap"):` prints `==> bootstrap`, indents what happens inside and ends
with `<== bootstrap 12.3s` (or `!!! bootstrap failed after 4.0s`). `--verbose` makes the
command runner stream output; `--quiet` hides step lines.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress


@dataclass
class Settings:
    verbose: bool = False
    quiet: bool = False


settings = Settings()
# logs and progress: stderr; results (tables, reports): stdout, so `metal-images list | grep x`
# works. Piped, the result console is wide enough that a table row stays one greppable line.
console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
_depth = 0


def _indent() -> str:
    return "  " * _depth


def result(renderable: object) -> None:
    """A result (table, report line): stdout, never hidden by --quiet."""
    out.print(renderable)


def info(message: str) -> None:
    if not settings.quiet:
        console.print(f"{_indent()}{message}", markup=False)


def warn(message: str) -> None:
    console.print(f"{_indent()}[yellow]warning:[/yellow] {message}")


def detail(message: str) -> None:
    """A line shown only with --verbose."""
    if settings.verbose:
        console.print(f"{_indent()}  {message}", markup=False, style="dim")


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


@contextmanager
def step(title: str) -> Iterator[None]:
    """A nested, timed step. Re-raises whatever fails inside, after saying so."""
    global _depth
    started = time.monotonic()
    if not settings.quiet:
        console.print(f"{_indent()}[bold]==>[/bold] {title}")
    _depth += 1
    try:
        yield
    except BaseException:
        _depth -= 1
        elapsed = format_duration(time.monotonic() - started)
        console.print(f"{_indent()}[red]!!![/red] {title} failed after {elapsed}")
        raise
    _depth -= 1
    if not settings.quiet:
        elapsed = format_duration(time.monotonic() - started)
        console.print(f"{_indent()}[green]<==[/green] {title} [dim]{elapsed}[/dim]")


def is_interactive() -> bool:
    return sys.stderr.isatty() and not settings.quiet


def transfer_progress() -> Progress | None:
    """A transient rich progress display for byte transfers (bar, bytes, speed, time left),
    or None when nobody watches (quiet, or stderr is not a terminal). Start and stop it
    yourself (or use it as a context manager) and add one task per file."""
    if not is_interactive():
        return None
    # imported here: most commands never show a transfer
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=True)
