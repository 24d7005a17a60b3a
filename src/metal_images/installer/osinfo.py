"""Which OS the image is (from /etc/os-release) and what differs per OS family."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from .errors import InstallError
from .target import Target


@dataclass(frozen=True)
class OSInfo:
    id: str
    bootloader_id: str
    sudo_group: str
    debian_family: bool

    def initrd_name(self, kernel_version: str) -> str:
        if self.debian_family:
            return f"initrd.img-{kernel_version}"
        return f"initramfs-{kernel_version}.img"


SUPPORTED = {
    "debian": OSInfo("debian", "metal-debian", "sudo", True),
    "ubuntu": OSInfo("ubuntu", "metal-ubuntu", "sudo", True),
    "centos": OSInfo("centos", "centos", "wheel", False),
    "almalinux": OSInfo("almalinux", "almalinux", "wheel", False),
}


def detect(target: Target) -> OSInfo:
    for candidate in ("/etc/os-release", "/usr/lib/os-release"):
        if target.exists(candidate):
            text = target.read(candidate)
            break
    else:
        raise InstallError("no /etc/os-release in the image")
    values = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, raw = line.partition("=")
            parts = shlex.split(raw) if raw.strip() else [""]
            values[key.strip()] = parts[0] if parts else ""
    os_id = values.get("ID", "").lower()
    if os_id not in SUPPORTED:
        raise InstallError(
            f"unsupported operating system {os_id or '(no ID)'!r} in /etc/os-release "
            f"(supported: {', '.join(sorted(SUPPORTED))})"
        )
    return SUPPORTED[os_id]
