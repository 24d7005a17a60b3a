"""Run the image's installer in a chroot, read boot-info.yaml, write fstab (7.2)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from metal_images import chroot
from metal_images.errors import MetalImagesError
from metal_images.files import atomic_write
from metal_images.runner import run

from .disk import FstabEntry

INSTALLER_TIMEOUT = 900


@dataclass(frozen=True)
class BootInfo:
    kernel: str
    initrd: str
    cmdline: str
    bootloader_id: str


def installer_path(root: Path) -> str:
    """`/install-go` when it is a regular file, else `/install.sh` (the hammer's rule)."""
    go = root / "install-go"
    if go.is_file() and not go.is_symlink():
        return "/install-go"
    if not (root / "install.sh").exists():
        raise MetalImagesError(f"the image has neither /install-go nor /install.sh ({root})")
    return "/install.sh"


def run_installer(root: Path, *, from_ci: bool) -> str:
    """Run the installer as uid 0 in a chroot with /proc, /sys, /dev, /tmp; returns its log.

    from_ci sets INSTALL_FROM_CI=true, which skips grub-install (as upstream's CI does).
    """
    installer = installer_path(root)
    env = {"INSTALL_FROM_CI": "true"} if from_ci else {}
    with chroot.chroot_mounts(root, tmp=True, efivars=True):
        result = run(chroot.chroot_argv(root, [installer], env), timeout=INSTALLER_TIMEOUT, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.output.splitlines()[-30:])
        raise MetalImagesError(f"running {installer} in chroot failed (exit {result.returncode})",
                               detail=tail)
    # the hammer removes the installer afterwards (a warning only when that fails)
    (root / installer.lstrip("/")).unlink(missing_ok=True)
    return result.output


def read_boot_info(root: Path) -> BootInfo:
    path = root / "etc/metal/boot-info.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MetalImagesError(f"the installer wrote no readable {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise MetalImagesError(f"{path} is not a mapping")
    missing = [k for k in ("kernel", "cmdline") if not data.get(k)]
    if missing:
        raise MetalImagesError(f"{path} lacks {', '.join(missing)}")
    return BootInfo(str(data["kernel"]), str(data.get("initrd") or ""), str(data["cmdline"]),
                    str(data.get("bootloader_id") or ""))


def copy_boot_files(root: Path, info: BootInfo, dest: Path) -> tuple[Path, Path | None]:
    """Copy kernel and initrd out of the disk (the hammer copies them to /tmp for kexec)."""
    dest.mkdir(parents=True, exist_ok=True)

    def copy(inner: str) -> Path:
        source = root / inner.lstrip("/")
        if not source.is_file():
            raise MetalImagesError(f"boot-info.yaml names {inner}, which is not a file in the image")
        target = dest / Path(inner).name
        shutil.copyfile(source, target)
        return target

    return copy(info.kernel), (copy(info.initrd) if info.initrd else None)


def write_fstab(root: Path, entries: list[FstabEntry], version: str) -> None:
    """Overwrite /etc/fstab after the installer, as the hammer does."""
    lines = [f'# created by metal-hammer: "{version}"', *(e.line() for e in entries)]
    atomic_write(root / "etc/fstab", "\n".join(lines) + "\n")
