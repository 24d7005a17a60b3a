"""Table tests: the whole installer against a temporary root, compared with golden files.

Every file the installer writes or changes is compared byte for byte (and by mode) with
tests/unit/installer/golden/<case>/files/..., and the commands it runs with
golden/<case>/commands.txt. Regenerate after an intended change with
`UPDATE_GOLDEN=1 pytest tests/unit/installer`, then review the diff.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from installer_fakes import FakeRunner, install_fixture, make_tree

from metal_images.installer.steps import install
from metal_images.installer.target import Target

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

DNS_NTP = "dns_servers: [10.0.0.53]\nntp_servers: [10.0.0.123, ntp.example.internal]\n"
BLKID_RAID = (
    '/dev/md127: UUID="543eb7f8-98d4-d986-e669-824dbebe69e5" TYPE="ext4"\n'
    '/dev/sda1: UUID="C236-297F" TYPE="vfat" PARTLABEL="efi" PARTUUID="1"\n'
    '/dev/nvme0n1p1: UUID="C236-2980" TYPE="vfat" PARTLABEL="efi" PARTUUID="2"\n'
)
MDADM_DETAIL = "MD_LEVEL=raid1\nMD_DEVICES=2\nMD_UUID=543eb7f8:98d4d986:e669824d:bebe69e5\n"
MDADM_SCAN = "ARRAY /dev/md/root metadata=1.2 UUID=543eb7f8:98d4d986:e669824d:bebe69e5 name=any:root\n"


@dataclass
class Case:
    name: str
    fixture: str
    userdata: str | None = None
    extra: str = ""
    env: dict[str, str] = field(default_factory=dict)
    firewall: bool = False
    raid: bool = False


CASES = [
    Case("machine", "install-machine.yaml", userdata="userdata-ignition.json"),
    Case(
        "machine-ci-cloud-config",
        "install-machine.yaml",
        userdata="userdata-cloud-config.yaml",
        extra=DNS_NTP,
        env={"INSTALL_FROM_CI": "true"},
    ),
    Case("machine-raid", "install-machine.yaml", extra="", raid=True),
    Case("firewall", "install-firewall.yaml", extra=DNS_NTP, env={"INSTALL_FROM_CI": "true"}, firewall=True),
]


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """path -> (content digest or link target, mode) of every file and symlink."""
    result = {}
    for path in sorted(root.rglob("*")):
        rel = "/" + path.relative_to(root).as_posix()
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            result[rel] = ("-> " + os.readlink(path), 0o777)
        elif stat.S_ISREG(info.st_mode):
            result[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(info.st_mode))
        else:
            result[rel] = ("dir", stat.S_IMODE(info.st_mode))
    return result


def run_case(case: Case, runner: FakeRunner) -> tuple[dict[str, tuple[str, int]], dict[str, tuple[str, int]]]:
    root = runner.root
    make_tree(root, firewall=case.firewall)
    extra = case.extra
    if case.raid:
        extra += "raidenabled: true\n"
        runner.handlers["blkid"] = lambda argv, stdin: (0, BLKID_RAID)
        runner.handlers["mdadm"] = lambda argv, stdin: (0, MDADM_SCAN if "--scan" in argv else MDADM_DETAIL)
    install_fixture(root, case.fixture, extra=extra, userdata=case.userdata)
    before = snapshot(root)
    runner.base_env = dict(case.env)
    install(Target(root), runner, dict(case.env), lambda message: None)
    return before, snapshot(root)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_install_matches_golden(case: Case, fake_runner: FakeRunner) -> None:
    before, after = run_case(case, fake_runner)
    root = fake_runner.root
    changed = sorted(p for p, v in after.items() if before.get(p) != v and v[0] != "dir")
    removed = sorted(p for p in before if p not in after)
    summary = [f"{oct(after[p][1])} {p}" for p in changed] + [f"removed {p}" for p in removed]
    golden = GOLDEN / case.name
    if UPDATE:
        import shutil

        shutil.rmtree(golden, ignore_errors=True)
        for path in changed:
            dest = golden / "files" / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            source = root / path.lstrip("/")
            if source.is_symlink():
                dest.write_text("symlink -> " + os.readlink(source) + "\n")
            else:
                dest.write_bytes(source.read_bytes())
        (golden / "changes.txt").write_text("\n".join(summary) + "\n")
        (golden / "commands.txt").write_text("\n".join(fake_runner.lines()) + "\n")
    assert (golden / "changes.txt").read_text().splitlines() == summary
    assert (golden / "commands.txt").read_text().splitlines() == fake_runner.lines()
    for path in changed:
        source = root / path.lstrip("/")
        expected = (golden / "files" / path.lstrip("/")).read_bytes()
        actual = (
            ("symlink -> " + os.readlink(source) + "\n").encode()
            if source.is_symlink()
            else source.read_bytes()
        )
        assert actual == expected, f"{path} differs from its golden file"
    # nothing half-written anywhere
    assert not [p for p in after if p.endswith(".tmp")]


def test_machine_essentials(fake_runner: FakeRunner) -> None:
    """The contract's key facts, asserted directly (not only through the golden files)."""
    run_case(CASES[0], fake_runner)
    root = fake_runner.root
    boot_info = (root / "etc/metal/boot-info.yaml").read_text()
    assert "kernel: /boot/vmlinuz-6.1.0-56-amd64\n" in boot_info
    assert "initrd: /boot/initrd.img-6.1.0-56-amd64\n" in boot_info
    assert "bootloader_id: metal-debian\n" in boot_info
    assert stat.S_IMODE((root / "etc/metal/boot-info.yaml").stat().st_mode) == 0o700
    assert "console=ttyS1,115200n8 root=UUID=543eb7f8-98d4-d986-e669-824dbebe69e5" in boot_info
    frr = (root / "etc/frr/frr.conf").read_text()
    assert "router bgp 4200003073\n bgp router-id 10.1.0.1\n" in frr
    assert " neighbor lan0 interface peer-group TOR\n neighbor lan1 interface peer-group TOR\n" in frr
    assert "  redistribute connected\n  redistribute kernel\n" in frr
    assert "  neighbor TOR route-map only-self-out out\n" in frr
    assert " bgp listen range 0.0.0.0/0 peer-group LOCAL\n" in frr
    assert "MACAddress=00:03:00:11:11:01" in (root / "etc/systemd/network/10-lan0.link").read_text()
    assert "Address=10.1.0.1/32" in (root / "etc/systemd/network/00-lo.network").read_text()
    assert (root / "etc/hostname").read_text() == "machine\n"
    assert (root / "etc/machine-id").read_text() == ""
    assert not (root / ".dockerenv").exists()
    assert stat.S_IMODE((root / "var/tmp").stat().st_mode) == 0o1777
    assert "bgpd=yes" in (root / "etc/frr/daemons").read_text()
    assert (root / "etc/resolv.conf").read_text() == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
    keys = root / "home/metal/.ssh/authorized_keys"
    assert keys.read_text().startswith("ssh-ed25519 ")
    assert (keys.stat().st_uid, stat.S_IMODE(keys.stat().st_mode)) == (1000, 0o600)
    lines = fake_runner.lines()
    assert "chpasswd  <<< 'metal:test\\n'" in lines
    assert any(line.startswith("grub-install ") and line.endswith("--removable") for line in lines)
    assert "systemctl preset cloud-config-downloader.service" in lines
    assert not any("preset-all" in line for line in lines)


def test_firewall_essentials(fake_runner: FakeRunner) -> None:
    run_case(CASES[3], fake_runner)
    root = fake_runner.root
    rules = (root / "etc/nftables/rules").read_text()
    assert "type filter hook forward priority 0; policy drop;" in rules
    assert "type filter hook input priority 0; policy drop;" in rules
    assert 'iifname { "vrf3981" } ip daddr 0.0.0.0/0 tcp dport { 80,443 } counter accept' in rules
    into = 'oifname { "vrf3981", "vni3981", "vlan3981" }'
    ingress = f"{into} ip saddr 10.0.0.0/8 tcp dport {{ 22 }} counter accept"
    assert ingress in rules
    assert "systemctl enable chrony@vrf104009.service" in fake_runner.lines()
    chrony = (root / "etc/chrony/chrony.conf").read_text()
    assert "pool 10.0.0.123 iburst\npool ntp.example.internal iburst\n" in chrony
    assert "server " not in chrony and "debian.pool" not in chrony
    frr = (root / "etc/frr/frr.conf").read_text()
    assert "vrf vrf104009\n vni 104009\nexit-vrf" in frr
    assert "router bgp 4200003073 vrf vrf3981" in frr
    assert not any("grub-install" in line for line in fake_runner.lines())
