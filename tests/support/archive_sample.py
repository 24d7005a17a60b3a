"""A tiny image archive that passes every error-level contract rule.

Built with tarfile + lz4.frame (not with our exporter), so tests of `check`, the store and
cache-sync have a realistic img.tar.lz4 of a few kilobytes, and can break one thing at
a time: `sample_members()` gives the entries, `write_archive()` packs any list of them.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import lz4.frame

from metal_images.artifact import registry
from metal_images.contract.rules import required_tools
from metal_images.sidecar import sidecar_text

KERNEL_VERSION = "6.1.0-99-amd64"
MTIME = 1_700_000_000


@dataclass
class Member:
    info: tarfile.TarInfo
    data: bytes = b""


def _info(name: str, kind: bytes, mode: int, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = linkname
    info.mtime = MTIME
    return info


def directory(name: str, mode: int = 0o755) -> Member:
    return Member(_info(name, tarfile.DIRTYPE, mode))


def file(name: str, data: bytes = b"", mode: int = 0o644) -> Member:
    return Member(_info(name, tarfile.REGTYPE, mode, len(data)), data)


def symlink(name: str, target: str) -> Member:
    return Member(_info(name, tarfile.SYMTYPE, 0o777, linkname=target))


def hardlink(name: str, target: str) -> Member:
    return Member(_info(name, tarfile.LNKTYPE, 0o644, linkname=target))


def fake_bzimage() -> bytes:
    data = bytearray(2048)
    data[0x1FE:0x200] = b"\x55\xaa"
    data[0x202:0x206] = b"HdrS"
    return bytes(data)


def sample_members(os_id: str = "debian", role: str = "machine") -> list[Member]:
    """A root tree with everything the error-level rules look for, in archive order."""
    members = [directory(d) for d in (
        "bin", "boot", "dev", "etc", "etc/metal", "etc/metal/networker", "etc/systemd",
        "etc/systemd/system", "etc/systemd/system/multi-user.target.wants", "proc", "run", "sys",
        "usr", "usr/bin", "usr/lib", "usr/sbin", "var", "var/tmp")]
    members += [
        file("boot/System.map-" + KERNEL_VERSION, b"ffffffff81000000 T _text\n"),
        file("boot/initrd.img-" + KERNEL_VERSION, b"initrd"),
        file("boot/vmlinuz-" + KERNEL_VERSION, fake_bzimage()),
        file("etc/fstab", b"# empty\n"),
        file("etc/group", b"root:x:0:\nsudo:x:27:\nwheel:x:10:\n"),
        symlink("etc/os-release", "../usr/lib/os-release"),
        file("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
        symlink("etc/systemd/system/default.target", "/lib/systemd/system/multi-user.target"),
        file("install-go", b"#!/bin/sh\nexit 0\n", 0o755),
        file("usr/lib/os-release", f'ID={os_id}\nVERSION_ID="12"\n'.encode()),
        # FRR 10's mgmtd and the tmpfiles line that gives it /var/lib/frr (frr-state-dir)
        directory("etc/tmpfiles.d"), directory("usr/lib/frr"),
        file("etc/tmpfiles.d/frr.conf", b"d /var/lib/frr 0750 frr frr -\n"),
        file("usr/lib/frr/mgmtd", b"\x7fELF", 0o755),
    ]
    for unit in ("frr.service", "lldpd.service", "ssh.service", "systemd-networkd.service",
                 "serial-getty@ttyS1.service", "watchdog.service"):
        members.append(symlink(f"etc/systemd/system/multi-user.target.wants/{unit}",
                               f"/lib/systemd/system/{unit}"))
    for alternatives in required_tools(os_id, role):
        members.append(file(f"usr/sbin/{alternatives[0]}", b"#!/bin/sh\n", 0o755))
    # Debian's LLDP daemon, which the installer configures for phone home
    members += [file(f"usr/sbin/{tool}", b"#!/bin/sh\n", 0o755) for tool in ("lldpd", "lldpcli")]
    if role == "firewall":
        members += firewall_members()
    return members


def firewall_members() -> list[Member]:
    """What the firewall-services rule looks for."""
    members = [
        directory("etc/firewall-controller"), directory("usr/lib/systemd"),
        directory("usr/lib/systemd/system"), directory("usr/local"), directory("usr/local/bin"),
        file("usr/lib/systemd/system/chrony@.service",
             b"[Service]\nExecStart=!/bin/ip vrf exec %i /usr/sbin/chronyd -F 1\n"),
        file("etc/nftables.conf", b'flush ruleset\ninclude "/etc/nftables/*"\n'),
        file("usr/local/bin/node_exporter", b"#!/bin/sh\n", 0o755),
    ]
    for unit in ("nftables.service", "suricata.service"):
        members.append(symlink(f"etc/systemd/system/multi-user.target.wants/{unit}",
                               f"/lib/systemd/system/{unit}"))
    return members


def tar_bytes(members: list[Member], *, pax_global: dict[str, str] | None = None,
              tar_format: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format, pax_headers=pax_global) as tar:
        for member in members:
            tar.addfile(member.info, io.BytesIO(member.data) if member.info.isreg() else None)
    return buffer.getvalue()


def write_archive(directory_: Path, members: list[Member] | None = None, *,
                  pax_global: dict[str, str] | None = None, md5: bool = True) -> Path:
    """Write `<directory_>/img.tar.lz4` (+ `.md5` in md5sum format) and return its path."""
    directory_.mkdir(parents=True, exist_ok=True)
    data = lz4.frame.compress(tar_bytes(sample_members() if members is None else members,
                                        pax_global=pax_global))
    path = directory_ / registry.IMAGE
    path.write_bytes(data)
    if md5:
        (directory_ / registry.MD5).write_text(sidecar_text(hashlib.md5(data).hexdigest(), registry.IMAGE))
    return path
