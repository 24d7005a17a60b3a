"""A recording stand-in for metal_images.runner: every command is recorded, none is started.

    fake = RecordingRunner(handlers={"blkid": lambda call: Reply(output="1234-ABCD\\n")})
    with runner.replaced(fake):
        ...code under test...
    assert fake.programs() == ["wipefs", "sgdisk", ...]

A handler is chosen by the program's base name (for `chroot <tree> cmd ...` and
`ip netns exec <ns> cmd ...` also by the inner command's name) and may do what the real
tool would do to the file system, so the code after it finds a consistent world. Commands
without a handler succeed with no output. Failures behave as the real runner's do: `run`
with check and `capture` raise CommandError, `probe` answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from metal_images.errors import CommandError
from metal_images.runner import Argv, Probe, Process, Result


@dataclass(frozen=True)
class Reply:
    code: int = 0
    output: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class Call:
    kind: str  # run | capture | probe | background | interactive | detach
    argv: list[str]
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    input: str | bytes | None = None

    @property
    def program(self) -> str:
        return Path(self.argv[0]).name

    @property
    def inner(self) -> list[str]:
        """The command a wrapper runs: `chroot TREE cmd...`, `ip netns exec NS cmd...`, `env K=V cmd`."""
        argv = self.argv
        while argv:
            name = Path(argv[0]).name
            if name == "chroot" and len(argv) > 2:
                argv = argv[2:]
            elif argv[:3] == ["ip", "netns", "exec"] and len(argv) > 4:
                argv = argv[4:]
            elif name == "env":
                argv = argv[1:]
                while argv and (argv[0].startswith("-") or "=" in argv[0]):  # -i, K=V
                    argv = argv[1:]
            else:
                return argv
        return argv


Handler = Callable[[Call], Reply | None]


@dataclass
class FakeProcess:
    pid: int
    returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


@dataclass
class RecordingRunner:
    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    stopped: list[list[str]] = field(default_factory=list)  # background processes, in stop order

    def _answer(self, call: Call) -> Reply:
        self.calls.append(call)
        for name in (call.program, Path(call.inner[0]).name if call.inner else ""):
            handler = self.handlers.get(name)
            if handler is not None:
                return handler(call) or Reply()
        return Reply()

    def run(self, argv: Argv, *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
            input: str | bytes | None = None, check: bool = True, timeout: float | None = None) -> Result:
        call = Call("run", [str(a) for a in argv], cwd, env, input)
        reply = self._answer(call)
        if check and reply.code != 0:
            raise CommandError(f"command failed with exit code {reply.code}: {call.argv[0]}",
                               detail=reply.output)
        return Result(call.argv, reply.code, reply.output)

    def capture(self, argv: Argv, *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
        call = Call("capture", [str(a) for a in argv], cwd, env)
        reply = self._answer(call)
        if reply.code != 0:
            raise CommandError(f"command failed with exit code {reply.code}: {call.argv[0]}",
                               detail=reply.stderr)
        return reply.output

    def probe(self, argv: Argv, *, timeout: float | None = None) -> Probe:
        call = Call("probe", [str(a) for a in argv])
        reply = self._answer(call)
        return Probe(call.argv, reply.code, reply.output, reply.stderr)

    @contextmanager
    def background(self, argv: Argv, log: Path, *, name: str, stop_timeout: float = 10) -> Iterator[Process]:
        call = Call("background", [str(a) for a in argv])
        reply = self._answer(call)
        process = FakeProcess(pid=10_000 + len(self.calls), returncode=reply.code or None)
        try:
            yield process
        finally:
            self.stopped.append(call.argv)

    def interactive(self, argv: Argv) -> int:
        return self._answer(Call("interactive", [str(a) for a in argv])).code

    def detach(self, argv: Argv) -> None:
        self._answer(Call("detach", [str(a) for a in argv]))

    # --- what the test asks afterwards -------------------------------------------------------

    def programs(self, kind: str | None = None) -> list[str]:
        """The inner command's name of every call (of one kind)."""
        return [Path(c.inner[0]).name for c in self.calls if c.inner and (kind is None or c.kind == kind)]

    def argvs(self, program: str, kind: str = "run") -> list[list[str]]:
        """The full inner argv of every call of `program` (of one kind)."""
        return [c.inner for c in self.calls
                if c.inner and Path(c.inner[0]).name == program and c.kind == kind]
