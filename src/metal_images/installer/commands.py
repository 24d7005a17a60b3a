"""Running external commands, behind a small interface.

The installer calls every external tool (useradd, vtysh, grub-install, ...) through a
`Runner`. Production uses `SubprocessRunner`; the unit tests inject a runner that records
the calls and fakes the tools, which is the seam that lets them run the whole installer
against a temporary directory instead of a real machine.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Protocol, Sequence, TypedDict

from .errors import InstallError

if TYPE_CHECKING:  # typing.Unpack is 3.11+; the installer also runs on 3.9
    from typing import Unpack

DEFAULT_TIMEOUT = 300.0


class RunOptions(TypedDict, total=False):
    """How to run a command; every field may be left out (timeout: DEFAULT_TIMEOUT)."""

    stdin: Optional[str]
    env: Optional[Dict[str, str]]
    cwd: Optional[str]
    timeout: float


@dataclass(frozen=True)
class Completed:
    argv: List[str]
    returncode: int
    output: str  # stdout and stderr, merged


class Runner(Protocol):
    def run(self, argv: Sequence[str], **options: Unpack[RunOptions]) -> Completed:
        """Run argv and return its result (never raises for a non-zero exit)."""
        ...

    def which(self, tool: str) -> Optional[str]:
        """The path of `tool` on PATH, or None when the image does not have it."""
        ...


class SubprocessRunner:
    """Runs commands for real (inside the chroot metal-hammer set up)."""

    def run(self, argv: Sequence[str], **options: Unpack[RunOptions]) -> Completed:
        args = [str(a) for a in argv]
        timeout = options.get("timeout", DEFAULT_TIMEOUT)
        try:
            proc = subprocess.run(
                args,
                input=options.get("stdin"),
                env=options.get("env"),
                cwd=options.get("cwd"),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                universal_newlines=True,
                errors="replace",
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise InstallError(f"command not found: {args[0]}") from exc
        except subprocess.TimeoutExpired as exc:
            raise InstallError(f"command timed out after {timeout:.0f}s: {' '.join(args)}") from exc
        return Completed(args, proc.returncode, proc.stdout or "")

    def which(self, tool: str) -> Optional[str]:
        return shutil.which(tool)


def last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def check(result: Completed) -> Completed:
    """Raise an InstallError naming the command and its last output line on failure."""
    if result.returncode != 0:
        raise InstallError(
            f"`{' '.join(result.argv)}` exited with {result.returncode}: {last_line(result.output)}"
        )
    return result
