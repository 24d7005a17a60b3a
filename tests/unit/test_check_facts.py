"""The batched fact gathering of the VM checks, run against a real local shell.

The batch script is the one the checks send over SSH; here it runs in `sh` on this machine,
so framing, quoting, exit codes, retries and the root batch are exercised for real. The
host has no sudo: the root batch goes through a `sudo` on PATH that insists on the console
password on stdin (the VM run checks real sudo).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from metal_images.checks.context import CheckContext
from metal_images.checks.facts import (
    GatherError,
    GatherStats,
    Probe,
    batch_script,
    file_probe,
    gather,
    probe,
    service_probes,
)

PASSWORD = "it's a \"secret\" $(reboot)"


def _ctx(**changes: object) -> CheckContext:
    values: dict[str, object] = dict(
        role="machine", os_id="debian", hostname="m1", router_id="10.1.0.1", asn=4200000001,
        public_key="ssh-ed25519 AAAA test", password=PASSWORD, macs=["aa:bb:cc:dd:ee:01"],
        boot_cmdline="console=ttyS1", uefi=False, dns_name="endpoint.test", dns_address="10.254.1.1",
        endpoint_url="http://endpoint.test/", endpoint_text="ok", switch_namespace="ns",
        switch_vty="/run/vty")
    values.update(changes)
    return CheckContext(**values)  # type: ignore[arg-type]


@dataclass
class Completed:
    rc: int
    stdout: str
    stderr: str


class LocalShell:
    """Runs the batch like testinfra's host.run, counting the round trips."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.calls = 0

    def __call__(self, command: str) -> Completed:
        self.calls += 1
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=self.env,
                              check=False, timeout=60)
        return Completed(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def shell(tmp_path: Path) -> LocalShell:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sudo = bin_dir / "sudo"
    # `sudo -S -p '' sh -c SCRIPT`: read the password line, refuse a wrong one, run the rest
    sudo.write_text('#!/bin/sh\nIFS= read -r pw; [ "$pw" = "$EXPECTED_PASSWORD" ] || '
                    '{ echo "sudo: wrong password" >&2; exit 1; }\nshift 3; ROOT_BATCH=yes exec "$@"\n')
    sudo.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "EXPECTED_PASSWORD": PASSWORD,
           "HOME": str(tmp_path)}
    return LocalShell(env)


def test_one_round_trip_for_user_and_root_probes(shell: LocalShell, tmp_path: Path) -> None:
    data = tmp_path / "file with 'quotes'"
    data.write_bytes(b"line one\nline two\n\xff\n")
    data.chmod(0o640)
    specs = [
        probe("echo", "printf '%s' 'a b  c'"),
        probe("empty", "true"),
        probe("fails", "echo out; echo err >&2; exit 3"),
        probe("as_root", "echo $ROOT_BATCH", root=True),
        probe("root_fails", "exit 5", root=True),
        file_probe("data", str(data)),
        file_probe("absent", str(tmp_path / "nope")),
    ]
    facts = gather(shell, specs, _ctx())
    assert shell.calls == 1
    assert facts["echo"].stdout == "a b  c" and facts["echo"].ok
    assert (facts["empty"].rc, facts["empty"].stdout, facts["empty"].stderr) == (0, "", "")
    assert (facts["fails"].rc, facts["fails"].stdout, facts["fails"].stderr) == (3, "out\n", "err\n")
    assert facts["as_root"].stdout == "yes\n"
    assert facts["root_fails"].rc == 5
    found = facts.file("data")
    assert found.exists and found.mode == 0o640 and found.content == "line one\nline two\n\ufffd\n"
    assert not facts.file("absent").exists and "nope" in facts.file("absent").error
    with pytest.raises(LookupError, match="no fact 'missing'"):
        facts["missing"]


def test_wrong_password_fails_every_root_fact(shell: LocalShell) -> None:
    specs = [probe("user", "echo hi"), probe("root", "id", root=True)]
    with pytest.raises(GatherError, match=r"no result for root \(sudo exited 1: sudo: wrong password\)"):
        gather(shell, specs, _ctx(password="wrong"))


def test_a_failing_batch_names_its_exit(shell: LocalShell) -> None:
    def broken(command: str) -> Completed:
        return Completed(255, "", "ssh: connect to host 10.1.0.1 port 22: Connection refused\n")
    with pytest.raises(GatherError, match=r"exit 255.*Connection refused"):
        gather(broken, [probe("x", "true")], _ctx())


def test_unready_probes_are_retried_alone_in_one_batch(shell: LocalShell, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    others = tmp_path / "others"
    bump = f"echo x >> {counter}; wc -l < {counter}"
    specs = [
        probe("late", bump, ready=lambda r: int(r.stdout) >= 3, timeout=30, interval=0.01),
        probe("bad_json", "echo '{'", ready=lambda r: bool(eval(r.stdout)), timeout=0.015, interval=0.01),
        probe("once", f"echo x >> {others}; wc -l < {others}"),
    ]
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:  # a clock that moves only when gather sleeps
        slept.append(seconds)
        now[0] += seconds

    stats = GatherStats(module="demo")
    facts = gather(shell, specs, _ctx(), sleep=sleep, clock=lambda: now[0], stats=stats)
    assert int(facts["late"].stdout) == 3
    assert int(facts["once"].stdout) == 1  # never re-run
    assert shell.calls == 3 and slept == [0.01, 0.01]
    # what the check phase reports: three round trips, and which probes were waited for
    assert (stats.probes, stats.round_trips) == (3, 3)
    assert stats.waited == pytest.approx({"late": 0.02, "bad_json": 0.02})
    assert stats.line() == "facts demo: 3 probes in 3 round trips, 0.0s (waited for late 0s, bad_json 0s)"


def test_settle_probes_come_first(shell: LocalShell, tmp_path: Path) -> None:
    marker = tmp_path / "settled"
    specs = [probe("after", f"cat {marker}"),
             probe("settle", f"echo done > {marker}; echo running", settle=True,
                   ready=lambda r: r.stdout.strip() == "running", timeout=5)]
    facts = gather(shell, specs, _ctx())
    assert facts["after"].stdout == "done\n"
    assert shell.calls == 2


def test_role_os_and_context_made_probes(shell: LocalShell) -> None:
    specs: list[object] = [
        probe("fw_only", "echo fw", roles=("firewall",)),
        probe("rhel_only", "echo rhel", os_ids=("almalinux",)),
        lambda ctx: [probe(f"host:{ctx.hostname}", f"echo {ctx.hostname}")],
        *service_probes("frr"),
        *service_probes("frr"),  # the same probe twice is one fact
    ]
    facts = gather(shell, specs, _ctx(hostname="m7"))  # type: ignore[arg-type]
    assert facts["host:m7"].stdout == "m7\n"
    assert set(facts.results) == {"host:m7", "service:frr:enabled", "service:frr:active"}
    with pytest.raises(LookupError):
        facts["fw_only"]


def test_one_name_two_commands_is_refused() -> None:
    with pytest.raises(ValueError, match="'x' is declared twice"):
        gather(lambda c: Completed(0, "", ""), [probe("x", "true"), probe("x", "false")], _ctx())


def test_service_fact_follows_systemctl_exit_codes(shell: LocalShell, tmp_path: Path) -> None:
    bin_dir = Path(shell.env["PATH"].split(":", 1)[0])
    systemctl = bin_dir / "systemctl"
    # a stand-in systemctl answering like the real one for two units (the VM run asks the real one)
    systemctl.write_text('#!/bin/sh\ncase "$1 $3" in\n'
                         '"is-enabled a") echo enabled;; "is-active a") echo active;;\n'
                         '"is-enabled b") echo disabled; exit 1;; *) echo inactive; exit 3;; esac\n')
    systemctl.chmod(0o755)
    facts = gather(shell, [*service_probes("a"), *service_probes("b")], _ctx())
    a, b = facts.service("a"), facts.service("b")
    assert (a.enabled, a.running, a.enabled_state) == (True, True, "enabled")
    assert (b.enabled, b.running, b.enabled_state) == (False, False, "disabled")


def test_context_values_reach_the_script_quoted(shell: LocalShell) -> None:
    name = "x'; touch /tmp/pwned-by-facts; '"
    specs = [lambda ctx: [Probe("quoted", f"printf %s {__import__('shlex').quote(ctx.hostname)}")]]
    facts = gather(shell, specs, _ctx(hostname=name))  # type: ignore[list-item]
    assert facts["quoted"].stdout == name
    assert not Path("/tmp/pwned-by-facts").exists()
    assert PASSWORD not in batch_script([probe("u", "true")], _ctx())  # no root probe, no password
