"""qemu-system-x86_64 started inside the switch namespace, booting like kexec or via UEFI.

kexec-like: exactly the kernel, initrd and cmdline from boot-info.yaml. UEFI: OVMF and
the GRUB the installer put on the EFI partition. The disk is virtio; the two NICs are
virtio-net on the switch's taps with the MACs from install.yaml. Serial port 1 (ttyS0)
and port 2 (ttyS1, metal-stack's console) go to files. No user-mode networking.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from metal_images import ui
from metal_images.runner import probe

QEMU = "qemu-system-x86_64"
OVMF_DIR = Path("/usr/share/OVMF")
OVMF_CODE = OVMF_DIR / "OVMF_CODE_4M.fd"
OVMF_VARS = OVMF_DIR / "OVMF_VARS_4M.fd"
MEMORY_MIB = 1536
CPUS = 2
KVM_PROBE_SECONDS = 20


@dataclass(frozen=True)
class VmSpec:
    disk: Path
    macs: tuple[str, ...]
    taps: tuple[str, ...]
    console_log: Path  # ttyS1
    serial0_log: Path  # ttyS0
    kernel: Path | None = None
    initrd: Path | None = None
    cmdline: str = ""
    ovmf_vars: Path | None = None  # set = boot through UEFI


@functools.cache
def kvm_works(kernel: Path) -> bool:
    """/dev/kvm may exist yet fail (nested virtualisation): boot `kernel` with -accel kvm
    and see whether it prints its banner within a few seconds."""
    if not Path("/dev/kvm").exists():
        ui.info("no /dev/kvm: using TCG (slower)")
        return False
    with tempfile.TemporaryDirectory(prefix="kvm-probe-") as tmp:
        log = Path(tmp) / "serial.log"
        argv = [QEMU, "-accel", "kvm", "-cpu", "host", "-machine", "q35", "-m", "128", "-display", "none",
                "-no-reboot", "-monitor", "none", "-serial", f"file:{log}",
                "-kernel", str(kernel), "-append", "console=ttyS0 panic=-1 root=/dev/nonexistent"]
        answer = probe(argv, timeout=KVM_PROBE_SECONDS)  # a timeout: it booted and kept running
        failed = answer.returncode not in (0, None) and not log.exists()
        text = log.read_text(errors="replace") if log.exists() else ""
        works = not failed and "Linux version" in text
    ui.info(f"KVM {'works' if works else 'does not work here: using TCG (slower)'}")
    return works


def accel_args(use_kvm: bool) -> list[str]:
    return ["-accel", "kvm", "-cpu", "host"] if use_kvm else ["-accel", "tcg,thread=multi", "-cpu", "max"]


def prepare_ovmf_vars(dest: Path) -> Path:
    """A private copy of the OVMF variable store (the firmware writes boot entries into it)."""
    shutil.copyfile(OVMF_VARS, dest)
    return dest


def qemu_argv(spec: VmSpec, use_kvm: bool) -> list[str]:
    argv = [QEMU, *accel_args(use_kvm), "-machine", "q35", "-smp", str(CPUS), "-m", str(MEMORY_MIB),
            "-display", "none", "-monitor", "none", "-no-reboot",
            "-serial", f"file:{spec.serial0_log}", "-serial", f"file:{spec.console_log}",
            "-drive", f"file={spec.disk},format=raw,if=none,id=disk0,cache=unsafe",
            "-device", "virtio-blk-pci,drive=disk0" + (",bootindex=0" if spec.ovmf_vars else ""),
            # real machines have a hardware watchdog the image's daemon drives; give the VM
            # one too, but never let a slow TCG guest be reset by it mid-test
            "-device", "i6300esb", "-action", "watchdog=none"]
    for index, (mac, tap) in enumerate(zip(spec.macs, spec.taps, strict=False)):
        argv += ["-netdev", f"tap,id=net{index},ifname={tap},script=no,downscript=no",
                 "-device", f"virtio-net-pci,netdev=net{index},mac={mac},romfile="]
    if spec.ovmf_vars is not None:
        argv += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                 "-drive", f"if=pflash,format=raw,unit=1,file={spec.ovmf_vars}"]
    else:
        assert spec.kernel is not None
        argv += ["-kernel", str(spec.kernel), "-append", spec.cmdline]
        if spec.initrd is not None:
            argv += ["-initrd", str(spec.initrd)]
    return argv
