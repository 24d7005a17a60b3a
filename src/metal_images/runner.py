"""One runner for every external command.

It logs argv, cwd and the environment it changed; with --verbose it streams the output;
when a command fails, the error carries a command line that reproduces it and the last
lines of its output.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from metal_images import ui
from metal_images.errors import CommandError

TAIL_LINES = 25


@dataclass(frozen=True)
class Result:
    argv: list[str]
    returncode: int
    output: str


def reproduce_line(argv: Sequence[str], cwd: Path | None, env: Mapping[str, str] | None) -> str:
    parts: list[str] = []
    if cwd is not None:
        parts.append(f"cd {shlex.quote(str(cwd))} &&")
    if env:
        parts.extend(f"{key}={shlex.quote(value)}" for key, value in sorted(env.items()))
    parts.append(shlex.join(str(a) for a in argv))
    return " ".join(parts)


def run(
    argv: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | bytes | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> Result:
    """Run a command, merging stderr into stdout, and return its output.

    `env` lists only the variables to add or change; the rest is inherited.
    """
    args = [str(a) for a in argv]
    full_env = {**os.environ, **env} if env else None
    line = reproduce_line(args, cwd, env)
    ui.detail(f"$ {line}")
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    collected: list[str] = []
    try:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except FileNotFoundError as exc:
        raise CommandError(f"command not found: {args[0]} (while running: {line})") from exc
    assert proc.stdout is not None
    if input is not None:
        assert proc.stdin is not None
        proc.stdin.write(input.encode() if isinstance(input, str) else input)
        proc.stdin.close()
    try:
        for raw in proc.stdout:
            text = raw.decode(errors="replace").rstrip("\n")
            collected.append(text)
            tail.append(text)
            if ui.settings.verbose:
                ui.console.print(f"    {text}", markup=False, style="dim")
        returncode = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.wait()
        raise CommandError(f"command timed out after {timeout}s: {line}") from exc
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    output = "\n".join(collected)
    if check and returncode != 0:
        raise CommandError(
            f"command failed with exit code {returncode}: {args[0]}\n  reproduce with: {line}",
            detail="\n".join(tail),
        )
    return Result(args, returncode, output)


def capture(
    argv: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run a command and return its stdout only (stderr goes to the log on failure).

    `env` lists only the variables to add or change; the rest is inherited.
    """
    args = [str(a) for a in argv]
    line = reproduce_line(args, cwd, env)
    ui.detail(f"$ {line}")
    full_env = {**os.environ, **env} if env else None
    try:
        proc = subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise CommandError(f"command not found: {args[0]} (while running: {line})") from exc
    if proc.returncode != 0:
        raise CommandError(
            f"command failed with exit code {proc.returncode}: {args[0]}\n  reproduce with: {line}",
            detail=proc.stderr.decode(errors="replace")[-4000:],
        )
    return str(proc.stdout.decode(errors="replace"))
