"""Gather facts once, assert many: the probes a check module declares run as ONE batched
remote command over SSH (user probes, and root probes through one sudo inside it).

An SSH round-trip into a TCG-emulated machine costs about a second and a half; one per check
made 45 checks take over a minute. A check module instead declares what it wants to see:

    PROBES = [
        probe("cmdline", "cat /proc/cmdline"),
        probe("boot_info", "cat /etc/metal/boot-info.yaml", root=True),
        file_probe("fstab", "/etc/fstab"),
        *service_probes("frr"),
        probe("ntp", "timedatectl show -p NTPSynchronized", ready=lambda r: "=yes" in r.stdout,
              timeout=240, interval=10),
        lambda ctx: [file_probe(f"userdata:{f.path}", f.path, root=True) for f in ctx.userdata_files],
    ]

and each check asserts on `facts["cmdline"].stdout`, `facts.file("fstab")`,
`facts.service("frr")`. The module-scoped `facts` fixture (plugin.py) runs every probe that
applies to the role/OS in one round trip. A probe with `ready` is re-run (only the unready
ones, again batched) every `interval` seconds until ready or `timeout`; the check then sees
its last result. `settle=True` probes are gathered, and waited for, before all the others,
so those see a settled system. Commands are shell text; anything taken from the context must
be quoted (shlex.quote) by the command's callable.
"""

from __future__ import annotations

import base64
import binascii
import io
import shlex
import tarfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .context import CheckContext

ROOT_BATCH = "__root__"


@dataclass(frozen=True)
class Result:
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class Probe:
    name: str
    command: str | Callable[[CheckContext], str]
    root: bool = False
    settle: bool = False
    ready: Callable[[Result], bool] | None = None
    timeout: float = 0.0
    interval: float = 5.0
    roles: tuple[str, ...] = ()   # empty: every role
    os_ids: tuple[str, ...] = ()  # empty: every OS

    def applies(self, ctx: CheckContext) -> bool:
        return (not self.roles or ctx.role in self.roles) and (not self.os_ids or ctx.os_id in self.os_ids)

    def shell(self, ctx: CheckContext) -> str:
        return self.command(ctx) if callable(self.command) else self.command


# what a module's PROBES list holds: probes, or callables making probes from the context
ProbeSpec = Probe | Callable[[CheckContext], Iterable[Probe]]


def probe(name: str, command: str | Callable[[CheckContext], str], **options: Any) -> Probe:
    return Probe(name, command, **options)


def file_probe(name: str, path: str, **options: Any) -> Probe:
    """Owner, mode and content of one file (see Facts.file)."""
    quoted = shlex.quote(path)
    return Probe(name, f"stat -c '%U %a' -- {quoted} && cat -- {quoted}", **options)


def service_probes(unit: str, **options: Any) -> list[Probe]:
    """`systemctl is-enabled` and `is-active` of one unit (see Facts.service)."""
    quoted = shlex.quote(unit)
    return [Probe(f"service:{unit}:enabled", f"systemctl is-enabled -- {quoted}", **options),
            Probe(f"service:{unit}:active", f"systemctl is-active -- {quoted}", **options)]


@dataclass(frozen=True)
class FileFact:
    exists: bool
    owner: str
    mode: int
    content: str
    error: str


@dataclass(frozen=True)
class ServiceFact:
    enabled: bool
    running: bool
    enabled_state: str  # is-enabled's answer (enabled, disabled, static, masked, ...)


class GatherError(AssertionError):
    """The batched command itself failed: every check of the module fails with this."""


class Facts:
    def __init__(self, results: dict[str, Result]) -> None:
        self.results = results

    def __getitem__(self, name: str) -> Result:
        try:
            return self.results[name]
        except KeyError:
            raise LookupError(f"no fact {name!r} was gathered: declare it in the module's PROBES "
                              "(for this role and OS)") from None

    def file(self, name: str) -> FileFact:
        result = self[name]
        head, _, content = result.stdout.partition("\n")
        if not result.ok or not head:
            return FileFact(False, "", 0, "", result.stderr.strip())
        owner, mode = head.split()
        return FileFact(True, owner, int(mode, 8), content, result.stderr.strip())

    def service(self, unit: str) -> ServiceFact:
        """As testinfra decides: enabled when is-enabled exits 0, running when is-active does."""
        enabled = self[f"service:{unit}:enabled"]
        return ServiceFact(enabled.ok, self[f"service:{unit}:active"].ok, enabled.stdout.strip())


# --- the batch script ------------------------------------------------------------------------
# Each probe leaves <key>.o, <key>.e and <key>.rc in a temporary folder; at the end the folder
# goes out as one base64 tar. Per probe that is `sh -c` and the command, nothing more: under
# TCG every process costs, and per-probe framing (base64 of each output) tripled them. The
# root probes run as one more probe, whose stdout is their own base64 tar.

_PRELUDE = (
    '_d=$(mktemp -d) || exit 97; trap \'rm -rf "$_d"\' EXIT; '
    '_p() { sh -c "$2" </dev/null >"$_d/$1.o" 2>"$_d/$1.e"; echo $? >"$_d/$1.rc"; }\n'
)
_EPILOGUE = 'cd "$_d" && tar -cf - . | base64 -w0\n'


def _script(commands: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"_p {shlex.quote(key)} {shlex.quote(cmd)}\n" for key, cmd in commands)
    return _PRELUDE + body + _EPILOGUE


def batch_script(probes: Sequence[Probe], ctx: CheckContext) -> str:
    """The one shell script that runs `probes` (root ones through sudo) and frames their results."""
    user = [(str(i), p.shell(ctx)) for i, p in enumerate(probes) if not p.root]
    root = [(str(i), p.shell(ctx)) for i, p in enumerate(probes) if p.root]
    if root:
        sudo = (f"printf '%s\\n' {shlex.quote(ctx.password)} | sudo -S -p '' sh -c "
                f"{shlex.quote(_script(root))}")
        user.append((ROOT_BATCH, sudo))
    return _script(user)


def _files(output: str) -> dict[str, str]:
    """name -> text of the files in a batch's base64 tar (empty when there is none)."""
    files: dict[str, str] = {}
    try:
        raw = base64.b64decode(output.strip(), validate=True)
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            for member in archive.getmembers():
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is not None:
                    files[member.name.removeprefix("./")] = handle.read().decode("utf-8", "replace")
    except (binascii.Error, tarfile.TarError):
        return {}
    return files


def _results(output: str) -> dict[str, Result]:
    """key -> Result of every probe that finished (its .rc was written)."""
    files = _files(output)
    results: dict[str, Result] = {}
    for name, text in files.items():
        key = name.removesuffix(".rc")
        if name.endswith(".rc") and text.strip().lstrip("-").isdigit():
            results[key] = Result(int(text), files.get(key + ".o", ""), files.get(key + ".e", ""))
    return results


def parse_batch(output: str, probes: Sequence[Probe]) -> dict[str, Result]:
    """The results by probe name; a probe without a line (its batch died) is an error."""
    by_key = _results(output)
    root = by_key.pop(ROOT_BATCH, None)
    if root is not None:
        by_key.update(_results(root.stdout))
    missing = [p.name for i, p in enumerate(probes) if str(i) not in by_key]
    if missing:
        why = f"sudo exited {root.rc}: {root.stderr.strip()}" if root is not None and not root.ok else \
            "the batch ended early"
        raise GatherError(f"no result for {', '.join(missing)} ({why})")
    return {p.name: by_key[str(i)] for i, p in enumerate(probes)}


def expand(specs: Iterable[ProbeSpec], ctx: CheckContext) -> list[Probe]:
    """The probes that apply to ctx, context-made ones included, each name once."""
    probes: list[Probe] = []
    for spec in specs:
        probes.extend([spec] if isinstance(spec, Probe) else spec(ctx))
    unique: dict[str, Probe] = {}
    for candidate in (p for p in probes if p.applies(ctx)):
        known = unique.setdefault(candidate.name, candidate)
        # two checks may want the same fact (a unit in two lists); one name, two commands is a bug
        if (known.shell(ctx), known.root) != (candidate.shell(ctx), candidate.root):
            raise ValueError(f"probe {candidate.name!r} is declared twice with different commands")
    return list(unique.values())


Run = Callable[[str], Any]  # runs a shell command remotely; the result has rc, stdout, stderr


def _run_batch(run: Run, probes: Sequence[Probe], ctx: CheckContext) -> dict[str, Result]:
    result = run(f"sh -c {shlex.quote(batch_script(probes, ctx))}")
    if result.rc != 0:
        raise GatherError(f"the fact batch failed (exit {result.rc}): {str(result.stderr).strip()[-500:]}")
    return parse_batch(str(result.stdout), probes)


def _is_ready(ready: Callable[[Result], bool], result: Result) -> bool:
    try:
        return bool(ready(result))
    except Exception:  # a half-written answer (say, JSON while a daemon starts) is not ready
        return False


@dataclass
class GatherStats:
    """What one module's gathering cost: where the check phase's time goes."""

    module: str = ""
    probes: int = 0
    round_trips: int = 0
    seconds: float = 0.0
    waited: dict[str, float] = field(default_factory=dict)  # probe -> seconds until ready (or given up)

    def line(self) -> str:
        longest_first = sorted(self.waited.items(), key=lambda wait: -wait[1])
        waits = ", ".join(f"{name} {secs:.0f}s" for name, secs in longest_first)
        return (f"facts {self.module}: {self.probes} probes in {self.round_trips} round trips, "
                f"{self.seconds:.1f}s" + (f" (waited for {waits})" if waits else ""))


def _until_ready(run: Run, probes: Sequence[Probe], ctx: CheckContext,
                 sleep: Callable[[float], None], clock: Callable[[], float],
                 stats: GatherStats) -> dict[str, Result]:
    started = clock()
    results = _run_batch(run, probes, ctx) if probes else {}
    stats.round_trips += 1 if probes else 0

    def waiting() -> list[Probe]:
        return [p for p in probes if p.ready is not None and not _is_ready(p.ready, results[p.name])
                and clock() - started < p.timeout]

    pending = waiting()
    while pending:
        sleep(min(p.interval for p in pending))
        results.update(_run_batch(run, pending, ctx))
        stats.round_trips += 1
        for probe_ in pending:
            stats.waited[probe_.name] = clock() - started
        pending = waiting()
    return results


def gather(run: Run, specs: Iterable[ProbeSpec], ctx: CheckContext,
           sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic,
           stats: GatherStats | None = None) -> Facts:
    """Settle probes first (waited for), then all the others in one batch (plus retries);
    `stats` (if given) is filled with what that cost."""
    stats = stats if stats is not None else GatherStats()
    started = clock()
    probes = expand(specs, ctx)
    stats.probes = len(probes)
    results = _until_ready(run, [p for p in probes if p.settle], ctx, sleep, clock, stats)
    results.update(_until_ready(run, [p for p in probes if not p.settle], ctx, sleep, clock, stats))
    stats.seconds = clock() - started
    return Facts(results)
