"""Mounts for working inside a root tree, as context managers that always unwind.

`chroot_mounts(root)` mounts /proc, /sys, /dev (+ /dev/pts) and a tmpfs /tmp (optional)
into `root`, and unmounts them in reverse order on every exit path, failure included.
`policy_rc_d(root)` keeps Debian maintainer scripts from starting daemons.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from metal_images import ui
from metal_images.errors import MetalImagesError
from metal_images.runner import probe


def is_mounted(path: Path) -> bool:
    target = os.path.realpath(path)
    with open("/proc/self/mounts") as mounts:
        return any(line.split()[1] == target for line in mounts)


def _umount(target: Path) -> None:
    if not probe(["umount", str(target)]).ok and is_mounted(target):
        # something still holds it (a daemon a step started): detach it lazily
        probe(["umount", "--lazy", "--recursive", str(target)])
    if is_mounted(target):
        ui.warn(f"could not unmount {target}")


@contextmanager
def mount(
    source: str, target: Path, *, fstype: str | None = None, options: str | None = None, bind: bool = False
) -> Iterator[Path]:
    """Mount `source` on `target` for the duration of the block."""
    target.mkdir(parents=True, exist_ok=True)
    argv = ["mount"]
    if bind:
        argv.append("--bind")
    if fstype:
        argv += ["-t", fstype]
    if options:
        argv += ["-o", options]
    argv += [source, str(target)]
    result = probe(argv)
    if not result.ok:
        raise MetalImagesError(f"mount failed: {' '.join(argv)}: {result.stderr.strip()}")
    try:
        yield target
    finally:
        _umount(target)


@contextmanager
def chroot_mounts(root: Path, *, tmp: bool = True, efivars: bool = False) -> Iterator[Path]:
    """The API filesystems a chroot needs, torn down in reverse on exit."""
    root = root.resolve()
    if not (root / "etc").is_dir():
        raise MetalImagesError(f"{root} does not look like a root tree (no etc/)")
    with ExitStack() as stack:
        stack.enter_context(mount("proc", root / "proc", fstype="proc"))
        stack.enter_context(mount("sysfs", root / "sys", fstype="sysfs"))
        if efivars and Path("/sys/firmware/efi/efivars").is_dir():
            stack.enter_context(mount("efivarfs", root / "sys/firmware/efi/efivars", fstype="efivarfs"))
        stack.enter_context(mount("/dev", root / "dev", bind=True))
        stack.enter_context(
            mount("devpts", root / "dev/pts", fstype="devpts", options="newinstance,ptmxmode=0666")
        )
        if tmp:
            stack.enter_context(mount("tmpfs", root / "tmp", fstype="tmpfs", options="mode=1777"))
        yield root


POLICY_RC_D = "#!/bin/sh\n# installed by metal-images during the build: start no daemons\nexit 101\n"


@contextmanager
def policy_rc_d(root: Path) -> Iterator[None]:
    """Keep daemons from starting while packages are configured in the chroot."""
    path = root / "usr/sbin/policy-rc.d"
    existed = path.exists()
    if not existed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(POLICY_RC_D)
        path.chmod(0o755)
    try:
        yield
    finally:
        if not existed:
            path.unlink(missing_ok=True)


def chroot_argv(root: Path, argv: list[str], env: dict[str, str] | None = None) -> list[str]:
    """argv for running a command inside `root` with a clean environment plus `env`."""
    base = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "DEBIAN_FRONTEND": "noninteractive",
        "DEBCONF_NONINTERACTIVE_SEEN": "true",
    }
    base.update(env or {})
    return ["chroot", str(root), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in base.items()), *argv]
