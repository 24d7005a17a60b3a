"""Small system files: resolv.conf, NTP, permissions, machine-id, build-meta.yaml."""

from __future__ import annotations

import json
import os
import pkgutil
from typing import Any, Dict

import yaml

from . import rhel
from .context import Context
from .network.system import chrony_conf
from .userdata import ignition_binary

# upstream's install-go writes these when metal-hammer gives no dns_servers
DEFAULT_NAMESERVERS = ("8.8.8.8", "8.8.4.4")
TIMESYNCD_DROPIN = "/etc/systemd/timesyncd.conf.d/metal.conf"
CHRONY_CONF = "/etc/chrony/chrony.conf"
BUILD_INFO = "build_info.json"  # next to the installer's modules in the zipapp


def resolv_conf(ctx: Context) -> None:
    servers = [str(s) for s in ctx.cfg.dns_servers] or list(DEFAULT_NAMESERVERS)
    # an existing symlink (to systemd-resolved's stub) is replaced by a regular file
    ctx.target.write("/etc/resolv.conf", "".join(f"nameserver {s}\n" for s in servers), mode=0o644)


def ntp(ctx: Context) -> None:
    if not ctx.osinfo.debian_family:
        rhel.ntp(ctx)  # chronyd: RHEL has no systemd-timesyncd
        return
    servers = ctx.cfg.ntp_servers
    if ctx.cfg.role == "firewall":
        # as os-installer: the whole file, its default pool when install.yaml names none
        ctx.target.write(CHRONY_CONF, chrony_conf(servers), mode=0o644)
        return
    if not servers:
        ctx.log("no ntp_servers in install.yaml: the image's defaults stay")
        return
    ctx.target.write(
        TIMESYNCD_DROPIN,
        "# written by the metal-images installer from /etc/metal/install.yaml\n[Time]\nNTP="
        + " ".join(servers)
        + "\n",
        mode=0o644,
    )


def fix_permissions(ctx: Context) -> None:
    """metal-hammer's tar extraction drops directory modes (contract 7.4)."""
    ctx.target.mkdir("/var/tmp", 0o1777)
    os.chmod(ctx.target.path("/var/tmp"), 0o1777)
    if ctx.target.exists("/etc/hosts"):
        os.chmod(ctx.target.path("/etc/hosts"), 0o644)


def clear_machine_id(ctx: Context) -> None:
    """Every installed machine must generate its own id (and so its own bridge MACs)."""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        full = ctx.target.path(path)
        if full.is_symlink() or not full.exists():
            continue
        mode = full.stat().st_mode & 0o7777
        ctx.target.write(path, "", mode=mode)


def build_info() -> Dict[str, Any]:
    """What write_install_sh embedded about this installer build (empty when run from source)."""
    try:
        data = pkgutil.get_data(__package__ or "installer", BUILD_INFO)
        loaded = json.loads(data) if data else {}
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def build_meta(ctx: Context) -> None:
    info = build_info()
    ignition = ""
    binary = ignition_binary(ctx)
    if binary:
        result = ctx.runner.run([binary, "-version"])
        ignition = result.output.strip() if result.returncode == 0 else ""
    meta = {
        "buildVersion": str(info.get("version", "")),
        "buildDate": str(info.get("date", "")),
        "buildSHA": str(info.get("sha", "")),
        "buildRevision": str(info.get("revision", "")),
        "ignitionVersion": ignition,
    }
    text = "---\n" + yaml.safe_dump(meta, sort_keys=False, default_flow_style=False)
    ctx.target.write("/etc/metal/build-meta.yaml", text, mode=0o644)
