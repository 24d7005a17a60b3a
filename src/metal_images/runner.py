"""One runner for every external command.

It logs argv, cwd and the environment it changed; with --verbose it streams the output;
when a command fails, the error carries a command line that reproduces it and the last
lines of its output. Five ways to start a process, one interface (`Runner`):

    run          a command whose failure is an error (output merged, tail kept)
    capture      the same, returning stdout only
    probe        a quiet question (is it mounted? does KVM boot?): never raises, the
                 exit code, stdout and stderr are the answer
    background   a daemon or a VM for the length of a `with` block, stopped on every exit
    interactive  the terminal handed to the command (`shell`)
    detach       fire and forget (deleting an old stage tree while the build goes on)

The module functions use the current runner; a test puts a recording fake in its place
with `replaced(fake)` (tests/support/recording_runner.py), so the builder and the hammer
run their real code against scripted tools.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from metal_images import ui
from metal_images.errors import CommandError, MetalImagesError

TAIL_LINES = 25
NOT_FOUND = 127  # what a shell answers for a missing command; a probe does the same

Argv = Sequence[str | Path]


@dataclass(frozen=True)
class Result:
    argv: list[str]
    returncode: int
    output: str


@dataclass(frozen=True)
class Probe:
    """The answer of a probe: returncode None means it timed out (and was killed)."""

    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Process(Protocol):
    """What callers may ask of a background process (a Popen, or a fake's stand-in)."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...


class Runner(Protocol):
    def run(self, argv: Argv, *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
            input: str | bytes | None = None, check: bool = True, timeout: float | None = None) -> Result: ...

    def capture(self, argv: Argv, *, cwd: Path | None = None,
                env: Mapping[str, str] | None = None) -> str: ...

    def probe(self, argv: Argv, *, timeout: float | None = None) -> Probe: ...

    def background(self, argv: Argv, log: Path, *, name: str,
                   stop_timeout: float = 10) -> AbstractContextManager[Process]: ...

    def interactive(self, argv: Argv) -> int: ...

    def detach(self, argv: Argv) -> None: ...


def reproduce_line(argv: Sequence[str], cwd: Path | None, env: Mapping[str, str] | None) -> str:
    parts: list[str] = []
    if cwd is not None:
        parts.append(f"cd {shlex.quote(str(cwd))} &&")
    if env:
        parts.extend(f"{key}={shlex.quote(value)}" for key, value in sorted(env.items()))
    parts.append(shlex.join(str(a) for a in argv))
    return " ".join(parts)


def _strings(argv: Argv) -> list[str]:
    return [str(a) for a in argv]


class SystemRunner:
    """The real one: subprocesses of this process."""

    def run(self, argv: Argv, *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
            input: str | bytes | None = None, check: bool = True, timeout: float | None = None) -> Result:
        """Run a command, merging stderr into stdout, and return its output.

        `env` lists only the variables to add or change; the rest is inherited.
        """
        args = _strings(argv)
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
            raise CommandError(f"command failed with exit code {returncode}: {args[0]}",
                               reproduce=line, detail="\n".join(tail))
        return Result(args, returncode, output)

    def capture(self, argv: Argv, *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
        """Run a command and return its stdout only (stderr goes to the log on failure).

        `env` lists only the variables to add or change; the rest is inherited.
        """
        args = _strings(argv)
        line = reproduce_line(args, cwd, env)
        ui.detail(f"$ {line}")
        full_env = {**os.environ, **env} if env else None
        try:
            proc = subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, check=False)
        except FileNotFoundError as exc:
            raise CommandError(f"command not found: {args[0]} (while running: {line})") from exc
        if proc.returncode != 0:
            raise CommandError(f"command failed with exit code {proc.returncode}: {args[0]}",
                               reproduce=line, detail=proc.stderr.decode(errors="replace")[-4000:])
        return str(proc.stdout.decode(errors="replace"))

    def probe(self, argv: Argv, *, timeout: float | None = None) -> Probe:
        """Ask a question by running a command; its failure is an answer, not an error.

        Logged like any command (at detail level), but its output is never streamed.
        """
        args = _strings(argv)
        ui.detail(f"$ {reproduce_line(args, None, None)}  (probe)")
        try:
            proc = subprocess.run(args, capture_output=True, timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            return Probe(args, NOT_FOUND, "", f"command not found: {args[0]}")
        except subprocess.TimeoutExpired as exc:  # run() has killed it
            return Probe(args, None, _text(exc.stdout), _text(exc.stderr))
        return Probe(args, proc.returncode, _text(proc.stdout), _text(proc.stderr))

    @contextmanager
    def background(self, argv: Argv, log: Path, *, name: str, stop_timeout: float = 10) -> Iterator[Process]:
        """Start `argv` with output to `log`; terminate (then kill) it when the block ends."""
        args = _strings(argv)
        ui.detail(f"$ {reproduce_line(args, None, None)} > {log}")
        with open(log, "ab") as out:
            try:
                proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            except FileNotFoundError as exc:
                raise MetalImagesError(f"{name}: command not found: {args[0]}") from exc
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

    def interactive(self, argv: Argv) -> int:
        """Hand the terminal to `argv` (stdin, stdout and stderr inherited); its exit code."""
        args = _strings(argv)
        ui.detail(f"$ {reproduce_line(args, None, None)}")
        try:
            return subprocess.run(args, check=False).returncode
        except FileNotFoundError as exc:
            raise CommandError(f"command not found: {args[0]}") from exc

    def detach(self, argv: Argv) -> None:
        """Start `argv` in its own session and do not wait for it (output discarded)."""
        args = _strings(argv)
        ui.detail(f"$ {reproduce_line(args, None, None)} &")
        try:
            subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        except FileNotFoundError as exc:
            raise CommandError(f"command not found: {args[0]}") from exc


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


_current: Runner = SystemRunner()


def current() -> Runner:
    return _current


@contextmanager
def replaced(runner: Runner) -> Iterator[Runner]:
    """Use `runner` for every command started inside the block (a test's recording fake)."""
    global _current
    previous, _current = _current, runner
    try:
        yield runner
    finally:
        _current = previous


def run(argv: Argv, *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
        input: str | bytes | None = None, check: bool = True, timeout: float | None = None) -> Result:
    return _current.run(argv, cwd=cwd, env=env, input=input, check=check, timeout=timeout)


def capture(argv: Argv, *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    return _current.capture(argv, cwd=cwd, env=env)


def probe(argv: Argv, *, timeout: float | None = None) -> Probe:
    return _current.probe(argv, timeout=timeout)


def background(argv: Argv, log: Path, *, name: str,
               stop_timeout: float = 10) -> AbstractContextManager[Process]:
    return _current.background(argv, log, name=name, stop_timeout=stop_timeout)


def interactive(argv: Argv) -> int:
    return _current.interactive(argv)


def detach(argv: Argv) -> None:
    _current.detach(argv)


def require_running(proc: Process, name: str, log: Path) -> None:
    """Raise, with the tail of its log, if a background process has already exited."""
    if proc.poll() is not None:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""
        raise MetalImagesError(f"{name} exited with code {proc.returncode} (log: {log})", detail=tail)
