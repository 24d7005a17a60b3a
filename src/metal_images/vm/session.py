"""One test boot: switch namespace + qemu + SSH, torn down together.

`booted(...)` yields a `VmSession` once `metal` can log in over the BGP-learned route.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from metal_images import ui
from metal_images.errors import MetalImagesError
from metal_images.runner import background, require_running

from . import qemu
from .netns import ns_argv
from .ssh import SshTarget, wait_for_login, write_ssh_config
from .switch import Switch, running_switch

BOOT_TIMEOUT_KVM = 300
BOOT_TIMEOUT_TCG = 900


@dataclass(frozen=True)
class Machine:
    """What the VM boots and how it is reached: an installed disk and its boot files (as
    boot-info.yaml names them), the MACs of its two uplinks, the address SSH goes to."""

    disk_image: Path
    kernel: Path
    initrd: Path | None
    cmdline: str
    macs: tuple[str, str]
    address: str


@dataclass(frozen=True)
class VmSession:
    switch: Switch
    ssh: SshTarget
    console_log: Path
    use_kvm: bool
    qemu_pid: int


def namespace_name() -> str:
    return f"mi-vm-{os.getpid()}"


def _console_tail(log: Path, lines: int = 25) -> str:
    if not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def booted(machine: Machine, work: Path, key: Path, *, uefi: bool,
           boot_timeout: float | None = None) -> Iterator[VmSession]:
    """Start the switch and the VM, wait for SSH; tear both down when the block ends."""
    use_kvm = qemu.kvm_works(machine.kernel)
    timeout = boot_timeout or (BOOT_TIMEOUT_KVM if use_kvm else BOOT_TIMEOUT_TCG)
    console = work / "console.log"
    serial0 = work / "serial0.log"
    for log in (console, serial0):
        log.unlink(missing_ok=True)
    with ExitStack() as stack:
        switch = stack.enter_context(running_switch(namespace_name(), work / "switch"))
        spec = qemu.VmSpec(
            disk=machine.disk_image, macs=machine.macs, taps=switch.ports, console_log=console,
            serial0_log=serial0, kernel=None if uefi else machine.kernel,
            initrd=None if uefi else machine.initrd, cmdline=machine.cmdline,
            ovmf_vars=qemu.prepare_ovmf_vars(work / "OVMF_VARS.fd") if uefi else None)
        qemu_log = work / "qemu.log"
        qemu_log.unlink(missing_ok=True)
        vm = stack.enter_context(background(ns_argv(switch.namespace, qemu.qemu_argv(spec, use_kvm)),
                                            qemu_log, name="qemu", stop_timeout=15))
        target = write_ssh_config(switch.namespace, machine.address, key, work / "ssh_config")

        def alive() -> None:
            if vm.poll() is not None:
                raise MetalImagesError(f"qemu exited with code {vm.returncode} before SSH came up "
                                       f"(console: {console})", detail=_console_tail(console)
                                       or _console_tail(qemu_log))

        started = time.monotonic()
        with ui.step(f"boot to SSH ({'KVM' if use_kvm else 'TCG'}; up to {timeout:.0f}s)"):
            try:
                wait_for_login(target, timeout, alive)
            except MetalImagesError as exc:
                if not exc.detail:
                    exc.detail = _console_tail(console)
                raise
        require_running(vm, "qemu", qemu_log)
        ui.info(f"SSH login after {time.monotonic() - started:.0f}s")
        yield VmSession(switch, target, console, use_kvm, vm.pid)
