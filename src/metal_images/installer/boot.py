"""Kernel command line, /etc/metal/boot-info.yaml, GRUB and RAID (contract 6, steps 9-11).

boot-info.yaml is what metal-hammer reads to kexec into the installed kernel; the same
command line goes into GRUB_CMDLINE_LINUX so a later reboot through GRUB boots alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

import yaml

from . import rhel
from .context import Context
from .errors import InstallError

CONSOLE_RE = re.compile(r"^ttyS(?P<unit>\d+),(?P<speed>\d+)n8$")
BOOT_INFO = "/etc/metal/boot-info.yaml"
EFI_DIR = "/boot/efi"


@dataclass(frozen=True)
class BootInfo:
    kernel: str
    initrd: str
    cmdline: str
    bootloader_id: str

    def yaml(self) -> str:
        data = {
            "initrd": self.initrd,
            "cmdline": self.cmdline,
            "kernel": self.kernel,
            "bootloader_id": self.bootloader_id,
        }
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)


def parse_console(console: str) -> Tuple[int, int]:
    """`ttyS1,115200n8` -> (unit 1, speed 115200)."""
    match = CONSOLE_RE.match(console.strip())
    if not match:
        raise InstallError(f"console {console!r} from install.yaml is not of the form ttyS<n>,<speed>n8")
    return int(match.group("unit")), int(match.group("speed"))


def md_uuid(ctx: Context, root_uuid: str) -> Optional[str]:
    """The MD array UUID of the device holding the root filesystem, if it is an md array."""
    blkid = ctx.run(["blkid"]).output
    device = next((line.split(":", 1)[0] for line in blkid.splitlines() if root_uuid in line), None)
    if device is None:
        return None
    details = ctx.run(["mdadm", "--detail", "--export", device]).output
    for line in details.splitlines():
        if line.startswith("MD_UUID="):
            return line.split("=", 1)[1].strip()
    return None


def cmdline(ctx: Context) -> str:
    config = ctx.cfg
    parts = [
        f"console={config.console}",
        f"root=UUID={config.root_uuid}",
        "init=/sbin/init",
        "net.ifnames=0",
        "biosdevname=0",
        "nvme_core.io_timeout=300",
        # no systemd.unified_cgroup_hierarchy=0: cgroup v2, as upstream since January 2025
        # (systemd >= 256 and recent kubelets refuse cgroup v1)
    ]
    if config.raidenabled:
        uuid = md_uuid(ctx, config.root_uuid)
        if uuid:
            parts += ["rdloaddriver=raid0", "rdloaddriver=raid1", f"rd.md.uuid={uuid}"]
        else:
            ctx.log(f"raidenabled but no md array holds root UUID {config.root_uuid}")
    return " ".join(parts)


def find_kernel(ctx: Context) -> Tuple[str, str]:
    """(kernel, initrd) from the one and only /boot/System.map-<version>."""
    maps = ctx.target.glob("/boot", "System.map-*")
    if len(maps) != 1:
        found = ", ".join(maps) if maps else "none"
        raise InstallError(f"expected exactly one /boot/System.map-*, found {len(maps)} ({found})")
    version = maps[0].rsplit("/System.map-", 1)[1]
    kernel = f"/boot/vmlinuz-{version}"
    if not ctx.target.exists(kernel):
        raise InstallError(f"kernel {kernel} is missing (System.map says version {version})")
    initrd = f"/boot/{ctx.osinfo.initrd_name(version)}"
    if not ctx.target.exists(initrd):
        raise InstallError(f"initrd {initrd} is missing for kernel {version}")
    return kernel, initrd


def write_boot_info(ctx: Context) -> BootInfo:
    kernel, initrd = find_kernel(ctx)
    info = BootInfo(kernel=kernel, initrd=initrd, cmdline=ctx.cmdline, bootloader_id=ctx.osinfo.bootloader_id)
    ctx.target.write(BOOT_INFO, info.yaml(), mode=0o700)
    return info


def default_grub(ctx: Context, unit: int, speed: int) -> str:
    lines = [
        "GRUB_DEFAULT=0",
        "GRUB_TIMEOUT=5",
        f"GRUB_DISTRIBUTOR={ctx.osinfo.bootloader_id}",
        'GRUB_CMDLINE_LINUX_DEFAULT=""',
        f'GRUB_CMDLINE_LINUX="{ctx.cmdline}"',
        "GRUB_TERMINAL=serial",
        f'GRUB_SERIAL_COMMAND="serial --speed={speed} --unit={unit} --word=8"',
    ]
    if ctx.osinfo.id == "almalinux":
        lines += [f"GRUB_DEVICE=UUID={ctx.cfg.root_uuid}", "GRUB_ENABLE_BLSCFG=false"]
    return "\n".join(lines) + "\n"


def efi_partitions(ctx: Context) -> List[str]:
    lines = ctx.run(["blkid"]).output.splitlines()
    return [line.split(":", 1)[0] for line in lines if 'PARTLABEL="efi"' in line]


def split_partition(device: str) -> Tuple[str, str]:
    """/dev/sda1 -> (/dev/sda, 1); /dev/nvme0n1p2 -> (/dev/nvme0n1, 2)."""
    match = re.match(r"^(?P<disk>.*?\d)p(?P<n>\d+)$", device)
    match = match or re.match(r"^(?P<disk>.*?)(?P<n>\d+)$", device)
    if not match:
        raise InstallError(f"cannot tell disk and partition number of {device}")
    return match.group("disk"), match.group("n")


def raid(ctx: Context) -> None:
    """mdadm.conf, initramfs with it, and one UEFI boot entry per EFI partition."""
    scan = ctx.run(["mdadm", "--examine", "--scan"]).output
    # Debian's mdadm reads /etc/mdadm/mdadm.conf when that exists and ignores /etc/mdadm.conf
    conf = "/etc/mdadm/mdadm.conf" if ctx.target.path("/etc/mdadm").is_dir() else "/etc/mdadm.conf"
    ctx.target.write(conf, scan.rstrip("\n") + "\nMAILADDR root\n", mode=0o644)
    if ctx.osinfo.debian_family:
        ctx.target.mkdir("/var/lib/initramfs-tools", 0o755)
        ctx.run(["update-initramfs", "-u"], timeout=900)
    else:
        kernel, _ = find_kernel(ctx)
        rhel.rebuild_initramfs_for_raid(ctx, kernel.rsplit("/vmlinuz-", 1)[1])
    if ctx.from_ci:
        ctx.log("INSTALL_FROM_CI=true: no UEFI boot entries")
        return
    # Debian/Ubuntu install GRUB to the removable path (--removable), RHEL keeps shim per vendor
    if ctx.osinfo.debian_family:
        loader = "\\EFI\\BOOT\\BOOTX64.EFI"
    else:
        loader = f"\\EFI\\{ctx.osinfo.id}\\shimx64.efi"
    for partition in efi_partitions(ctx):
        disk, number = split_partition(partition)
        bootloader_id = ctx.osinfo.bootloader_id
        ctx.run(["efibootmgr", "-c", "-d", disk, "-p", number, "-l", loader, "-L", bootloader_id])


def grub(ctx: Context) -> None:
    unit, speed = parse_console(ctx.cfg.console)
    ctx.target.write("/etc/default/grub", default_grub(ctx, unit, speed), mode=0o644)
    if ctx.cfg.raidenabled:
        raid(ctx)
    if ctx.from_ci:
        ctx.log("INSTALL_FROM_CI=true: grub-install skipped")
        return
    bootloader_id = ctx.osinfo.bootloader_id
    args = [
        "--target=x86_64-efi",
        f"--efi-directory={EFI_DIR}",
        "--boot-directory=/boot",
        f"--bootloader-id={bootloader_id}",
    ]
    if ctx.cfg.raidenabled:
        args.append("--no-nvram")
    if ctx.osinfo.debian_family:
        ctx.run(["grub-install", *args, "--removable"], timeout=600)
        ctx.run(["update-grub"], timeout=600)
        return
    if ctx.osinfo.id == "centos":
        ctx.run(["grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"], timeout=600)
        ctx.run(["grub2-install", *args, f"UUID={ctx.cfg.root_uuid}"], timeout=600)
    else:
        ctx.run(["grub2-mkconfig", "-o", "/boot/efi/EFI/almalinux/grub.cfg"], timeout=600)
