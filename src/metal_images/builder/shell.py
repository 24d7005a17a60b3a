"""`metal-images shell`: a chroot into a built tree with /proc, /sys, /dev and /tmp mounted."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType

from metal_images import paths, runner, ui
from metal_images.builder.reaper import reaped
from metal_images.chroot import chroot_argv, chroot_mounts, policy_rc_d
from metal_images.errors import MetalImagesError

PROMPT = r"(metal-images:{family}) \w# "


def _leave_to_child(_signum: int, _frame: FrameType | None) -> None:
    """SIGINT reached us too (same terminal): the child decides what it means."""


@contextmanager
def _host_resolv_conf(tree: Path) -> Iterator[None]:
    """The build host's resolv.conf for the session (the image ships none); removed after."""
    target = tree / "etc/resolv.conf"
    if target.exists() or target.is_symlink():
        yield
        return
    shutil.copyfile("/etc/resolv.conf", target)
    try:
        yield
    finally:
        target.unlink(missing_ok=True)


def shell(family: str, command: list[str], *, network: bool = False) -> int:
    """Run `command` (an interactive bash when empty) in the built tree; return its exit code."""
    root = paths.rootfs_dir(family)
    if not root.is_dir():
        raise MetalImagesError(f"{family} is not built yet (no {root}); run `metal-images build {family}`")
    tree = root.resolve()
    env = {"TERM": "xterm", "PS1": PROMPT.format(family=family)}
    argv = command or ["/bin/bash", "--norc", "-i"]
    if not command:
        ui.info(f"shell in {tree} (changes persist in the built tree until its next rebuild; exit to leave)")
    with chroot_mounts(tree), policy_rc_d(tree), reaped(tree), ExitStack() as stack:
        if network:
            stack.enter_context(_host_resolv_conf(tree))
        # interactive: the terminal is handed to the chroot. Ctrl-C
        # belongs to the shell inside; a Python handler (unlike SIG_IGN) is reset by exec.
        previous = signal.signal(signal.SIGINT, _leave_to_child)
        try:
            return runner.interactive(chroot_argv(Path(tree), argv, env))
        finally:
            signal.signal(signal.SIGINT, previous)
