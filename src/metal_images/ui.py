"""Progress a person can follow: nested step lines with durations, on stderr; results on stdout.

`with step("bootstrap"):` prints `==> bootstrap`, indents what happens inside and ends
with `<== bootstrap 12.3s` (or `!!! bootstrap failed after 4.0s`). `--verbose` makes the
command runner stream output; `--quiet` hides step lines.

Every message is printed verbatim: the console never reads Rich markup, so a key, URL or
address in a message (`[/x]`, `[fd00::1]`) is shown as typed instead of being eaten or
crashing the print. Styles come from `Text` pieces built here (`labelled`), never from
brackets inside strings.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress


@dataclass
class Settings:
    verbose: bool = False
    quiet: bool = False


settings = Settings()
# logs and progress: stderr; results (tables, reports): stdout, so `metal-images list | grep x`
# works. Piped, the result console is wide enough that a table row stays one greppable line.
console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)
_depth = 0


def stdout_console(*, soft_wrap: bool = True) -> Console:
    """A console for results on stdout; like `console`, it prints text verbatim."""
    return Console(highlight=False, soft_wrap=soft_wrap, markup=False,
                   width=None if sys.stdout.isatty() else 200)


out = stdout_console()


def _indent() -> str:
    return "  " * _depth


def result(renderable: object) -> None:
    """A result (table, report line): stdout, never hidden by --quiet."""
    out.print(renderable)


def labelled(label: str, style: str, message: str = "") -> Text:
    """`label` in `style`, then `message` exactly as given (brackets and all)."""
    return Text.assemble((label, style), message)


def info(message: str) -> None:
    if not settings.quiet:
        console.print(f"{_indent()}{message}")


def log(renderable: object) -> None:
    """A log that is not one line (a table): stderr, hidden by --quiet like `info`."""
    if not settings.quiet:
        console.print(renderable)


def warn(message: str) -> None:
    console.print(labelled(f"{_indent()}warning:", "yellow", f" {one_line(message)}"))


def one_line(message: str) -> str:
    """`message` with control characters escaped (`\\n`, `\\x1b`): user text that holds a
    newline or a terminal escape cannot split the line or repaint the terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in message)


def error(message: str, *, reproduce: str = "") -> None:
    """The one `error:` line of a failed command, and for a command that failed the line
    that runs it again; control characters escaped in both."""
    console.print(labelled("error:", "red", f" {one_line(message)}"))
    if reproduce:
        console.print(f"  reproduce with: {one_line(reproduce)}")


def detail(message: str) -> None:
    """A line shown only with --verbose."""
    if settings.verbose:
        console.print(f"{_indent()}  {message}", style="dim")


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
        console.print(labelled(f"{_indent()}==>", "bold", f" {title}"))
    _depth += 1
    try:
        yield
    except BaseException:
        _depth -= 1
        elapsed = format_duration(time.monotonic() - started)
        console.print(labelled(f"{_indent()}!!!", "red", f" {title} failed after {elapsed}"))
        raise
    _depth -= 1
    if not settings.quiet:
        elapsed = format_duration(time.monotonic() - started)
        console.print(Text.assemble((f"{_indent()}<==", "green"), f" {title} ", (elapsed, "dim")))


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
