"""The initrd, rebuilt once the tree holds everything it reads.

mmdebstrap builds the initrd while installing the kernel, before the context overlay
brings /etc/initramfs-tools (RESUME=none, modules) and before the steps run. Without a
rebuild the initrd keeps what the bootstrap saw, e.g. a resume device from the build
host's swap. SOURCE_DATE_EPOCH is the kernel's own mtime (from its package), so the
same tree always gives the same initrd bytes.
"""

from __future__ import annotations

from pathlib import Path

from metal_images import runner, ui
from metal_images.chroot import chroot_argv

UPDATE_INITRAMFS = "usr/sbin/update-initramfs"


def kernel_epoch(root: Path) -> int | None:
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    return int(kernels[0].stat().st_mtime) if kernels else None


def rebuild_initramfs(root: Path) -> bool:
    """Rebuild every initrd in /boot (initramfs-tools trees only); False if there is none."""
    epoch = kernel_epoch(root)
    if epoch is None or not (root / UPDATE_INITRAMFS).exists():
        return False
    with ui.step("rebuild the initrd"):
        runner.run(chroot_argv(root, ["update-initramfs", "-u", "-k", "all"],
                               {"SOURCE_DATE_EPOCH": str(epoch)}))
    return True
