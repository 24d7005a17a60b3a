"""The installer under hostile install.yaml and userdata (issue 14.7).

Every probe is a real install (steps.install on a temporary root) that must stop in the
`install.yaml` step with one error line naming the bad value, and must leave the root
exactly as it was: all input is validated before the first file is written. The
installer's command runner only records calls here; no probe may reach a command.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Unpack

import pytest

from metal_images.installer.commands import Completed, RunOptions
from metal_images.installer.errors import StepFailed
from metal_images.installer.steps import install
from metal_images.installer.target import Target

FIXTURES = Path(__file__).parents[1] / "unit/installer/fixtures"
MACHINE = (FIXTURES / "install-machine.yaml").read_text()
FIREWALL = (FIXTURES / "install-firewall.yaml").read_text()


@dataclass
class RecordingRunner:
    calls: list[list[str]]

    def run(self, argv: Sequence[str], **options: Unpack[RunOptions]) -> Completed:
        self.calls.append([str(a) for a in argv])
        return Completed([str(a) for a in argv], 0, "")

    def which(self, tool: str) -> str | None:
        return None


def snapshot(root: Path) -> dict[str, str]:
    """Every path under root with its content hash (or its kind) and mode."""
    result = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            result[rel] = "link:" + str(path.readlink())
        elif path.is_file():
            result[rel] = f"{path.stat().st_mode:o}:" + hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            result[rel] = f"dir:{path.stat().st_mode:o}"
    return result


def make_root(root: Path, install_yaml: bytes, userdata: bytes | None = None) -> None:
    files = {
        "etc/os-release": b'NAME="test"\nID=debian\nVERSION_ID="12"\n',
        "etc/hosts": b"127.0.0.1 localhost\n",
        "etc/frr/daemons": b"zebra=yes\nbgpd=no\n",
        ".dockerenv": b"",
        "etc/metal/install.yaml": install_yaml,
    }
    if userdata is not None:
        files["etc/metal/userdata"] = userdata
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)


def refused(tmp_path: Path, install_yaml: str | bytes, userdata: bytes | None = None) -> str:
    """Install; assert it stops in `install.yaml` with nothing written; return the cause."""
    root = tmp_path / "root"
    data = install_yaml.encode() if isinstance(install_yaml, str) else install_yaml
    make_root(root, data, userdata)
    before = snapshot(root)
    runner = RecordingRunner(calls=[])
    with pytest.raises(StepFailed) as failure:
        install(Target(root), runner, {"INSTALL_FROM_CI": "true"}, lambda _message: None)
    assert failure.value.step == "install.yaml", failure.value
    assert "\n" not in str(failure.value)
    assert "internal error" not in failure.value.cause
    assert snapshot(root) == before, "the install wrote files before all input was validated"
    assert runner.calls == []
    return failure.value.cause


def swap(old: str, new: str, base: str = MACHINE) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


PROBES: list[tuple[str, Callable[[], str], str]] = [
    (
        "root_uuid runs a command when /etc/default/grub is sourced",
        lambda: swap('root_uuid: "543eb7f8-98d4-d986-e669-824dbebe69e5"', 'root_uuid: "$(touch /pwned)"'),
        "root_uuid: '$(touch /pwned)' is not a file system UUID",
    ),
    (
        "an ntp server adds a chrony directive",
        lambda: MACHINE + 'ntp_servers:\n  - address: "ntp.test\\ncmdallow all"\n',
        "ntp_servers[0].address: contains a newline",
    ),
    (
        "an ntp server that is no host name",
        lambda: MACHINE + "ntp_servers:\n  - address: 'ntp.test iburst maxpoll 1'\n",
        "ntp_servers[0].address: 'ntp.test iburst maxpoll 1' is not a host name or IP address",
    ),
    (
        "a plain-string ntp server with a space",
        lambda: MACHINE + "ntp_servers: ['a b']\n",
        "ntp_servers[0]: 'a b' is not a host name or IP address",
    ),
    (
        "a host name with a trailing newline",
        lambda: swap("hostname: machine", 'hostname: "fw\\n"'),
        "hostname: contains a newline",
    ),
    (
        "a password with a carriage return",
        lambda: swap("password: test", 'password: "test\\rroot::0:0::/:/bin/sh"'),
        "password: contains a newline",
    ),
    (
        "an escape sequence in a network id",
        lambda: swap("networkid: bc830818-2df1-4904-8c40-4322296d393d", 'networkid: "\\e[2Jx"'),
        "networks[0].networkid: contains control character '\\x1b'",
    ),
    (
        "a console that smuggles kernel parameters",
        lambda: swap("console: ttyS1,115200n8", "console: 'ttyS1 init=/bin/sh'"),
        "console: 'ttyS1 init=/bin/sh' is not a console",
    ),
    (
        "an ASN beyond 32 bits",
        lambda: swap("asn: 4200003073", "asn: 4294967296"),
        "networks[0].asn: must be at most 4294967295, got 4294967296",
    ),
    (
        "a VRF beyond 24 bits (the VNI)",
        lambda: swap("vrf: 3981", "vrf: 16777216", FIREWALL),
        "networks[0].vrf: must be at most 16777215, got 16777216",
    ),
    (
        "two networks in one VRF",
        lambda: swap("vrf: 104009", "vrf: 3981", FIREWALL),
        "networks[1].vrf: VRF 3981 is also used by networks[0]",
    ),
    (
        "a MAC address with a newline after it",
        lambda: swap('mac: "00:03:00:11:11:01"', 'mac: "00:03:00:11:11:01\\n"'),
        "nics[0].mac: contains a newline",
    ),
    (
        "a firewall rule comment that closes the nft string",
        lambda: swap("comment: allow apt and https out", "comment: 'x\" accept; #'", FIREWALL),
        "firewall_rules.egress[0].comment:",
    ),
    (
        "a vpn key with a space",
        lambda: FIREWALL + "vpn:\n  address: https://vpn.test\n  auth_key: 'k --reset'\n",
        "vpn.auth_key: 'k --reset' is not a VPN auth key",
    ),
    (
        "an unknown network type",
        lambda: swap("networktype: privateprimaryunshared", "networktype: 'private;rm'"),
        "networks[0].networktype: unknown network type",
    ),
]


@pytest.mark.parametrize(("name", "make", "message"), PROBES, ids=[p[0] for p in PROBES])
def test_hostile_value_is_refused_before_anything_is_written(
    tmp_path: Path, name: str, make: Callable[[], str], message: str
) -> None:
    cause = refused(tmp_path, make())
    assert cause.startswith("install.yaml: "), cause
    assert message in cause, cause


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    bomb = MACHINE + "\n".join(levels) + "\n"  # 10^9 strings once expanded
    started = time.monotonic()
    cause = refused(tmp_path, bomb)
    assert time.monotonic() - started < 5
    assert "more than 100000 values once YAML aliases are expanded" in cause


def test_deeply_nested_install_yaml_is_refused(tmp_path: Path) -> None:
    cause = refused(tmp_path, MACHINE + "deep: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "install.yaml: nested deeper than 32 levels" in cause


def test_non_utf8_install_yaml_is_refused(tmp_path: Path) -> None:
    data = MACHINE.encode().replace(b"hostname: machine", b"hostname: m\xe4chine")
    cause = refused(tmp_path, data)
    assert cause.startswith("install.yaml is not UTF-8 text (invalid byte at offset ")


def test_non_utf8_userdata_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    cause = refused(tmp_path, MACHINE, userdata=b"#cloud-config\nhostname: \xff\n")
    assert cause.startswith("userdata is not UTF-8 text")


def test_deeply_nested_ignition_userdata_is_refused(tmp_path: Path) -> None:
    nested = b'{"ignition": {"version": "3.2.0"}, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    cause = refused(tmp_path, MACHINE, userdata=nested)
    assert cause == "userdata (Ignition JSON): nested deeper than 32 levels"


def test_deeply_nested_cloud_config_is_refused(tmp_path: Path) -> None:
    nested = b"#cloud-config\nwrite_files: " + b"[" * 3000 + b"]" * 3000 + b"\n"
    cause = refused(tmp_path, MACHINE, userdata=nested)
    assert cause.startswith("userdata (cloud-config): nested deeper than 32 levels")


def test_metal_hammers_own_shapes_are_accepted(tmp_path: Path) -> None:
    """The counterpart: what metal-hammer really writes passes (and is read as meant)."""
    from metal_images.installer.config import parse

    text = swap("prefixes: [10.0.16.0/22]", "prefixes: [10.0.18.0/22]")
    text += "dns_servers:\n  - ip: 1.2.3.4\nntp_servers:\n  - address: ntp.test\n  - address: 2001:db8::1\n"
    text = text.replace(
        "    vrf: 3981\n", "    vrf: 3981\n    projectid: p\n    nattypev2: ipv4-masquerade\n"
    )
    config = parse(text)
    assert [str(p) for p in config.networks[0].prefixes] == ["10.0.18.0/22"]  # kept as written
    assert str(config.networks[0].prefixes[0].network) == "10.0.16.0/22"  # the masked network
    assert [str(s) for s in config.dns_servers] == ["1.2.3.4"]
    assert config.ntp_servers == ["ntp.test", "2001:db8::1"]
