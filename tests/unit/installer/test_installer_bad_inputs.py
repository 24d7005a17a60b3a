"""Each bad input stops the install with its own one-line error naming the step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from installer_fakes import KERNEL, FakeRunner, install_fixture, make_tree, write

from metal_images.installer.errors import StepFailed
from metal_images.installer.steps import install
from metal_images.installer.target import Target

MACHINE = (Path(__file__).parent / "fixtures/install-machine.yaml").read_text()
FIREWALL = (Path(__file__).parent / "fixtures/install-firewall.yaml").read_text()


def replace(old: str, new: str, base: str = MACHINE) -> Callable[[Path], None]:
    assert old in base, old

    def apply(root: Path) -> None:
        write(root, "/etc/metal/install.yaml", base.replace(old, new, 1))

    return apply


def remove(path: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / path.lstrip("/")).unlink()

    return apply


def add(path: str, text: str = "x\n") -> Callable[[Path], None]:
    return lambda root: write(root, path, text)


def userdata(text: str) -> Callable[[Path], None]:
    return lambda root: write(root, "/etc/metal/userdata", text, 0o600)


def tool_fails(name: str, code: int, output: str) -> Callable[[FakeRunner], None]:
    def apply(runner: FakeRunner) -> None:
        runner.handlers[name] = lambda argv, stdin: (code, output)

    return apply


@dataclass
class Bad:
    name: str
    step: str
    message: str
    tree: Callable[[Path], None] | None = None
    runner: Callable[[FakeRunner], None] | None = None


BAD = [
    Bad(
        "no install.yaml",
        "install.yaml",
        "/etc/metal/install.yaml is missing",
        remove("/etc/metal/install.yaml"),
    ),
    Bad(
        "yaml syntax",
        "install.yaml",
        "install.yaml is not valid YAML (line 6)",
        replace("console: ttyS1,115200n8", "console: [ttyS1"),
    ),
    Bad(
        "unknown role",
        "install.yaml",
        "role: unknown role 'router' (expected machine or firewall)",
        replace("role: machine", "role: router"),
    ),
    Bad("no role", "install.yaml", "install.yaml: role: missing", replace("role: machine\n", "")),
    Bad(
        "console",
        "grub",
        "console 'tty0' from install.yaml is not of the form ttyS<n>,<speed>n8",
        replace("console: ttyS1,115200n8", "console: tty0"),
    ),
    Bad(
        "console without n8",
        "grub",
        "console 'ttyS1,115200' from install.yaml is not of the form",
        replace("console: ttyS1,115200n8", "console: ttyS1,115200"),
    ),
    Bad(
        "no kernel",
        "boot-info.yaml",
        "expected exactly one /boot/System.map-*, found 0 (none)",
        remove(f"/boot/System.map-{KERNEL}"),
    ),
    Bad(
        "two kernels",
        "boot-info.yaml",
        "expected exactly one /boot/System.map-*, found 2",
        add("/boot/System.map-6.1.0-57-amd64"),
    ),
    Bad(
        "no vmlinuz",
        "boot-info.yaml",
        f"kernel /boot/vmlinuz-{KERNEL} is missing",
        remove(f"/boot/vmlinuz-{KERNEL}"),
    ),
    Bad(
        "no initrd",
        "boot-info.yaml",
        f"initrd /boot/initrd.img-{KERNEL} is missing",
        remove(f"/boot/initrd.img-{KERNEL}"),
    ),
    Bad(
        "networks not a list",
        "install.yaml",
        "networks: expected a list",
        replace("networks:\n  - asn: 4200003073", "networks: 4200003073\nx:\n  - asn: 1"),
    ),
    Bad(
        "ip malformed",
        "install.yaml",
        "networks[0].ips[0]: '10.1.0' is not an IP address",
        replace("ips: [10.1.0.1]", "ips: [10.1.0]"),
    ),
    Bad(
        "prefix malformed",
        "install.yaml",
        "networks[0].prefixes[0]: '10.0.16.0/33' is not a network prefix",
        replace("prefixes: [10.0.16.0/22]", "prefixes: [10.0.16.0/33]"),
    ),
    Bad(
        "asn missing",
        "install.yaml",
        "networks[0].asn: missing",
        replace("  - asn: 4200003073\n    destinationprefixes", "  - destinationprefixes"),
    ),
    Bad(
        "asn not a number",
        "install.yaml",
        "networks[0].asn: expected a number, got 'big'",
        replace("asn: 4200003073", "asn: big"),
    ),
    Bad(
        "vrf negative", "install.yaml", "networks[0].vrf: must be at least 0", replace("vrf: 3981", "vrf: -1")
    ),
    Bad(
        "no primary network",
        "install.yaml",
        "exactly one private primary network is required, got 0",
        replace("networktype: privateprimaryunshared", "networktype: external"),
    ),
    Bad(
        "primary without ips",
        "install.yaml",
        "the private primary network has no ips",
        replace("ips: [10.1.0.1]", "ips: []"),
    ),
    Bad(
        "no networks",
        "install.yaml",
        "networks: no networks given",
        replace(MACHINE[MACHINE.index("networks:") : MACHINE.index("nics:")], ""),
    ),
    Bad(
        "bad mac",
        "install.yaml",
        "nics[0].mac: '00:03:00:11:11' is not a MAC address",
        replace('mac: "00:03:00:11:11:01"', 'mac: "00:03:00:11:11"'),
    ),
    Bad(
        "firewall without underlay",
        "install.yaml",
        "a firewall needs exactly one underlay network, got 0",
        replace("networktype: underlay", "networktype: external", FIREWALL),
    ),
    Bad(
        "firewall rule port",
        "install.yaml",
        "firewall_rules.egress[0].ports[1]: 70000 is not a port number",
        replace("ports: [80, 443]", "ports: [80, 70000]", FIREWALL),
    ),
    Bad(
        "firewall rule protocol",
        "install.yaml",
        "firewall_rules.ingress[0].protocol: expected TCP or UDP",
        replace("protocol: TCP\n      ports: [22]", "protocol: ICMP\n      ports: [22]", FIREWALL),
    ),
    Bad(
        "bad hostname",
        "install.yaml",
        "hostname: 'my machine' is not a valid host name",
        replace("hostname: machine", "hostname: my machine"),
    ),
    Bad(
        "ignition spec 2 malformed",
        "userdata",
        "Ignition spec 2.x userdata is malformed near 'path'",
        userdata('{"ignition": {"version": "2.2.0"}, "storage": {"files": [{"mode": 420}]}}'),
    ),
    Bad(
        "unsupported os",
        "detect os",
        "unsupported operating system 'gentoo'",
        add("/etc/os-release", "ID=gentoo\n"),
    ),
    Bad("no sudo group", "metal user", "the image has no group 'sudo'", add("/etc/group", "root:x:0:\n")),
    Bad(
        "uid 1000 taken",
        "metal user",
        "uid 1000 is taken by user 'ubuntu'",
        add("/etc/passwd", "root:x:0:0::/root:/bin/bash\nubuntu:x:1000:1000::/home/ubuntu:/bin/bash\n"),
    ),
    Bad(
        "frr rejected",
        "network",
        "generated /etc/frr/frr.conf is rejected by vtysh: line 3: % Unknown command",
        runner=tool_fails("vtysh", 2, "line 3: % Unknown command\n"),
    ),
    Bad(
        "firewall nft rejected",
        "network",
        "generated /etc/nftables/rules is rejected by nft: "
        "/etc/metal/networker/rules:7:3-6: Error: syntax error, unexpected junk",
        runner=tool_fails("nft", 1, "/etc/metal/networker/rules:7:3-6: Error: syntax error, unexpected junk\n"
                          "\t\tjunk\n\t\t^^^^\n"),
    ),
    Bad(
        "useradd fails",
        "metal user",
        "`useradd --create-home --uid 1000 --gid sudo --shell /bin/bash metal` "
        "exited with 4: useradd: UID 1000 is not unique",
        runner=tool_fails("useradd", 4, "useradd: UID 1000 is not unique\n"),
    ),
    Bad("userdata neither", "userdata", "userdata is neither cloud-config", userdata("hello: world\n")),
    Bad(
        "ignition spec 1",
        "userdata",
        "unsupported ignition.version '1.0.0'",
        userdata('{"ignition": {"version": "1.0.0"}}'),
    ),
    Bad(
        "ignition spec 2 disks",
        "userdata",
        "storage.disks: cannot be translated to spec 3",
        userdata('{"ignition": {"version": "2.2.0"}, "storage": {"disks": [{"device": "/dev/sda"}]}}'),
    ),
    Bad(
        "ignition fails",
        "userdata",
        "ignition stage fetch-offline failed: CRITICAL : Ignition failed: invalid config",
        userdata('{"ignition": {"version": "3.3.0"}}'),
        tool_fails("ignition", 1, "CRITICAL : Ignition failed: invalid config\n"),
    ),
    Bad(
        "cloud-config invalid",
        "userdata",
        "userdata is not valid cloud-config: Error: | Cloud config schema errors",
        userdata("#cloud-config\nwrite_files: 5\n"),
        tool_fails(
            "cloud-init", 1, "Error:\nCloud config schema errors: write_files: 5 is not of type 'array'\n"
        ),
    ),
]


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_bad_input_fails_with_its_own_error(bad: Bad, fake_runner: FakeRunner) -> None:
    root = fake_runner.root
    firewall = "FIREWALL" in repr(bad.tree) or bad.name.startswith("firewall")
    make_tree(root, firewall=firewall)
    install_fixture(root, "install-firewall.yaml" if firewall else "install-machine.yaml")
    if bad.tree is not None:
        bad.tree(root)
    if bad.runner is not None:
        bad.runner(fake_runner)
    with pytest.raises(StepFailed) as failure:
        install(Target(root), fake_runner, {"INSTALL_FROM_CI": "true"}, lambda message: None)
    assert failure.value.step == bad.step
    assert bad.message in failure.value.cause
    line = str(failure.value)
    assert "\n" not in line and line.startswith(f"step {bad.step!r} failed: ")
    leftovers = [p for p in root.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers


def test_errors_are_distinct() -> None:
    assert len({b.message for b in BAD}) == len(BAD)
