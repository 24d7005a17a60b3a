"""The `metal` user (uid 1000, in sudo or wheel) and its SSH keys."""

from __future__ import annotations

from . import rhel
from .context import Context
from .errors import InstallError

USER = "metal"
UID = 1000


def create_metal_user(ctx: Context) -> None:
    group = ctx.osinfo.sudo_group
    if ctx.target.group(group) is None:
        raise InstallError(f"the image has no group {group!r} for the metal user")
    if ctx.target.user(USER) is not None:
        ctx.run(["userdel", USER], timeout=10)
    holder = ctx.target.user_with_uid(UID)
    if holder is not None:
        raise InstallError(f"uid {UID} is taken by user {holder!r} in the image; metal needs it")
    ctx.run(
        ["useradd", "--create-home", "--uid", str(UID), "--gid", group, "--shell", "/bin/bash", USER],
        timeout=10,
    )
    # chpasswd takes the password on stdin: it never shows up in a process list
    ctx.run(["chpasswd"], stdin=f"{USER}:{ctx.cfg.password}\n", timeout=10)
    if not ctx.osinfo.debian_family:
        rhel.set_root_password(ctx)


def authorized_keys(ctx: Context) -> None:
    owner = ctx.target.user(USER)
    if owner is None:
        raise InstallError("user metal does not exist")
    ctx.target.mkdir("/home/metal/.ssh", 0o700, owner=owner)
    keys = "\n".join(k.strip() for k in ctx.cfg.sshpublickey.splitlines() if k.strip())
    ctx.target.write("/home/metal/.ssh/authorized_keys", keys + "\n" if keys else "", mode=0o600, owner=owner)
