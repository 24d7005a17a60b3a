"""The network configuration metal-networker renders upstream (contract section 6.2).

`configure()` writes systemd-networkd files, hostname and /etc/hosts, /etc/frr/frr.conf
and, on firewalls, /etc/nftables/rules, the chrony@<internet vrf> instance and the
firewall's services (exporters, firewall-controller, droptailer, suricata-update,
tailscale, suricata's interface; see services.py). FRR and
nftables configs are first rendered into /etc/metal/networker/, validated with the
image's `vtysh --dryrun` / `nft --check` and only then moved into place.
"""

from __future__ import annotations

import os
import re
from typing import Callable, List, Optional

from ..context import Context
from ..errors import InstallError
from . import frr, networkd, nftables, services, system
from .plan import plan

STAGING = "/etc/metal/networker"


def _validated(
    ctx: Context,
    name: str,
    content: str,
    dest: str,
    mode: int,
    tool: str,
    argv_tail: List[str],
    rejected: Optional[Callable[[str], List[str]]] = None,
) -> None:
    """Write `content` to the staging dir, validate it with `tool`, then move it to `dest`.
    `rejected` picks the tool's complaints from its output: they fail the install even
    when the tool exits 0."""
    staged = f"{STAGING}/{name}"
    owner = None
    if dest.startswith("/etc/frr/"):
        user, group = ctx.target.user("frr"), ctx.target.group("frr")
        owner = (user[0], group) if user is not None and group is not None else None
    ctx.target.write(staged, content, mode=mode, owner=owner)
    if ctx.has(tool):
        ctx.log(f"$ {tool} {' '.join(argv_tail)} {staged}")
        result = ctx.runner.run([tool, *argv_tail, staged])
        complaints = rejected(result.output) if rejected is not None else []
        if result.returncode != 0 or complaints:
            ctx.target.remove(staged)
            shown = complaints or [line.strip() for line in result.output.splitlines() if line.strip()]
            detail = " | ".join(shown)[-400:]
            raise InstallError(f"generated {dest} is rejected by {tool}: {detail or 'no output'}")
    else:
        ctx.log(f"{tool} not found in the image: {dest} not validated")
    dest_path = ctx.target.path(dest)
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(ctx.target.path(staged), dest_path)


DAEMONS = "/etc/frr/daemons"
# frrinit.sh starts every daemon with -F <frr_profile> from /etc/frr/daemons; the
# `frr defaults datacenter` line in frr.conf alone does not change the running profile
DAEMON_SETTINGS = (("bgpd", "yes"), ("frr_profile", '"datacenter"'))


def frr_daemons(ctx: Context) -> None:
    """Make FRR start bgpd (Debian's default: no) with the datacenter defaults profile."""
    if not ctx.target.exists(DAEMONS):
        ctx.log(f"{DAEMONS} missing: FRR's defaults apply")
        return
    original = ctx.target.read(DAEMONS)
    text = original
    for key, value in DAEMON_SETTINGS:
        line = f"{key}={value}"
        pattern = re.compile(rf"^#?\s*{key}=.*$", re.MULTILINE)
        if re.search(rf"^{re.escape(line)}\s*$", text, re.MULTILINE):
            continue
        if re.search(rf"^{key}=", text, re.MULTILINE):
            text = re.sub(rf"^{key}=.*$", line, text, flags=re.MULTILINE)
        elif pattern.search(text):
            text = pattern.sub(line, text, count=1)
        else:
            text = text.rstrip("\n") + f"\n{line}\n"
    if text != original:
        mode = ctx.target.path(DAEMONS).stat().st_mode & 0o7777
        ctx.target.write(DAEMONS, text, mode=mode)
        ctx.log(f"{DAEMONS}: bgpd=yes, frr_profile=datacenter")


def configure(ctx: Context) -> None:
    config = ctx.cfg
    net = plan(config)
    ctx.target.mkdir(STAGING, 0o755)
    for path, content in networkd.files(net).items():
        ctx.target.write(path, content, mode=0o644)
    ctx.target.write("/etc/hostname", system.hostname(net), mode=0o644)
    ctx.target.write("/etc/hosts", system.hosts(config), mode=0o644)
    status = ctx.target.read(frr.DPKG_STATUS) if ctx.target.exists(frr.DPKG_STATUS) else ""
    frr_version = frr.installed_version(status)
    ctx.log(f"FRR in the image: {'.'.join(map(str, frr_version)) if frr_version else 'unknown'}")
    frr_conf = frr.render(config, net, frr_version)
    _validated(
        ctx,
        "frr.conf",
        frr_conf,
        "/etc/frr/frr.conf",
        0o640,
        "vtysh",
        ["--dryrun", "--inputfile"],
        rejected=frr.rejected_lines,
    )
    frr_daemons(ctx)
    if net.role != "firewall":
        return
    rules = nftables.render(config, net)
    _validated(
        ctx, "rules", rules, "/etc/nftables/rules", 0o644, "nft", ["--check", "--file"],
        rejected=nftables.rejected_lines,
    )
    units = system.chrony_unit(config)
    if not units:
        ctx.log("no network with a default route: chrony stays disabled")
    for unit in units:
        template = unit.split("@", 1)[0] + "@.service"
        dirs = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
        if not any(ctx.target.exists(f"{d}/{template}") for d in dirs):
            raise InstallError(f"cannot enable {unit}: no {template} in the image (firewall images have one)")
        ctx.run(["systemctl", "enable", unit])
    rendered = services.render(config, net)
    for path, file in rendered.files.items():
        ctx.target.write(path, file.content, mode=file.mode)
    for unit, program in rendered.programs.items():
        if not ctx.target.exists(program):
            path, dropin = services.skip_without_program(unit, program)
            ctx.target.write(path, dropin.content, mode=dropin.mode)
            ctx.log(f"{program} is not in the image: {unit} skips itself until it is")
    for unit in rendered.enable:
        ctx.run(["systemctl", "enable", unit])
