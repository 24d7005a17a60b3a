"""What differs on the RHEL family (AlmaLinux, CentOS), as os-installer's almalinux path does it.

- time: chronyd reads /etc/chrony.conf (there is no systemd-timesyncd on RHEL)
- RAID root: dracut rebuilds the initramfs with mdadm.conf, the dm and mdraid modules
  and the raid drivers, or the kexec'd kernel finds no root array
- root gets the console password: RHEL's rescue mode asks for it (locked otherwise)
"""

from __future__ import annotations

from typing import List

from .context import Context
from .errors import InstallError

CHRONY_CONF = "/etc/chrony.conf"
CHRONY_SETTINGS = (
    "# the image's drift file and key file, where AlmaLinux/CentOS keep them",
    "driftfile /var/lib/chrony/drift",
    "keyfile /etc/chrony.keys",
    "logdir /var/log/chrony",
    "# step the clock at boot if it is off by more than a second (first three updates)",
    "makestep 1.0 3",
    "# keep the hardware clock in step (the kernel copies the system time every 11 minutes)",
    "rtcsync",
)
RAID_DRIVERS = "raid0 raid1"


def chrony_conf(servers: List[str]) -> str:
    lines = ["# written by the metal-images installer from /etc/metal/install.yaml ntp_servers"]
    lines += [f"server {server} iburst" for server in servers]
    return "\n".join([*lines, "", *CHRONY_SETTINGS]) + "\n"


def ntp(ctx: Context) -> None:
    """/etc/chrony.conf for a machine; a RHEL firewall is not supported (as upstream)."""
    if ctx.cfg.role == "firewall":
        raise InstallError(f"{ctx.osinfo.id} as a firewall is not supported (role firewall in install.yaml)")
    if not ctx.cfg.ntp_servers:
        ctx.log("no ntp_servers in install.yaml: the image's chrony.conf stays")
        return
    write_chrony_conf(ctx)


def write_chrony_conf(ctx: Context) -> None:
    servers = [str(s) for s in ctx.cfg.ntp_servers]
    for server in servers:
        # a config line per server: a value with spaces or a newline would add directives
        if not server or any(c.isspace() for c in server) or server.startswith("#"):
            raise InstallError(f"ntp_servers: {server!r} is not a host name or address")
    ctx.target.write(CHRONY_CONF, chrony_conf(servers), mode=0o644)


def dracut_raid_argv(version: str) -> List[str]:
    modules = f"/lib/modules/{version}"
    return [
        "dracut",
        "--mdadmconf",
        "--kver", version,
        "--kmoddir", modules,
        # all modules, so the initramfs also boots after a disk controller swap
        "--include", modules, modules,
        "--fstab",
        "--add=dm mdraid",
        f"--add-drivers={RAID_DRIVERS}",
        "--hostonly",
        "--force",
    ]


def rebuild_initramfs_for_raid(ctx: Context, kernel_version: str) -> None:
    """After /etc/mdadm.conf is written: the initramfs assembles the root array."""
    if not ctx.target.exists("/etc/mdadm.conf"):
        raise InstallError("/etc/mdadm.conf is missing; dracut --mdadmconf needs it")
    ctx.run(dracut_raid_argv(kernel_version), timeout=900)


def set_root_password(ctx: Context) -> None:
    # chpasswd reads the password from stdin: it never shows up in a process list
    ctx.run(["chpasswd"], stdin=f"root:{ctx.cfg.password}\n", timeout=10)
