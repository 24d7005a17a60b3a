"""The whole metal-hammer install of one image onto a disk file (contract 7.2)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metal_images import __version__, ui
from metal_images.errors import MetalImagesError
from metal_images.imagefiles import os_id, parse_os_release
from metal_images.installer.config import InstallConfig

from . import burn, disk, inputs, install, pull

DISK_SIZE_GIB = 8
DISK_FILE = "disk.raw"
HAMMER_VERSION = f"metal-images {__version__} (hammer emulation)"


@dataclass(frozen=True)
class Installed:
    disk_image: Path
    boot_info: install.BootInfo
    kernel: Path
    initrd: Path | None
    config: dict[str, Any]  # install.yaml as written for the installer
    model: InstallConfig  # the same, read through the installer's own model
    install_log: Path
    os_id: str  # ID from the image's /etc/os-release


def install_image(artifact_url: str, work: Path, config: dict[str, Any], userdata: str | None,
                  *, uefi: bool) -> Installed:
    """Partition, pull, burn, install, write fstab, unmount; keep kernel+initrd outside.

    `config` is install.yaml without root_uuid (filled in from the fresh root file system).
    """
    work.mkdir(parents=True, exist_ok=True)
    image = work / DISK_FILE
    image.unlink(missing_ok=True)
    disk.create_disk_image(image, DISK_SIZE_GIB)
    with disk.loop_device(image) as loop:
        with ui.step("storage: partition and format"):
            filesystems = disk.format_disk(loop)
        config = {**config, "root_uuid": disk.root_uuid(filesystems)}
        model = inputs.parse_install_config(config)  # refused before the image is pulled
        with tempfile.TemporaryDirectory(prefix="hammer-rootfs-", dir=work) as mnt, \
                disk.mounted(filesystems, Path(mnt)) as unmounted:
            root = Path(mnt)
            inputs.write_disk_json(root, filesystems)
            download = work / "os.tgz"  # the hammer's (misnamed) download file
            with ui.step(f"pull {artifact_url}"):
                pull.pull(artifact_url, download)
            try:
                with ui.step("burn: extract with the hammer's tar semantics"):
                    entries = burn.burn(download, root, artifact_url)
                    ui.info(f"{entries} tar entries")
            finally:
                download.unlink(missing_ok=True)
            os_id = read_os_id(root)
            inputs.write_installer_inputs(root, config, userdata)
            with ui.step("install: run the image's installer in a chroot"):
                log = install.run_installer(root, from_ci=not uefi)
                install_log = work / "install.log"
                install_log.write_text(log + "\n")
            info = install.read_boot_info(root)
            kernel, initrd = install.copy_boot_files(root, info, work / "boot")
            install.write_fstab(root, disk.fstab_entries(filesystems), HAMMER_VERSION)
            if uefi and not (root / "boot/efi/EFI").is_dir():
                raise MetalImagesError("--uefi: the installer put no EFI boot loader on /boot/efi")
            disk.fill_unmounted(root, unmounted)
    return Installed(image, info, kernel, initrd, config, model, install_log, os_id)


def artifact_source(artifact: Path) -> tuple[Path, str]:
    """A local img.tar.lz4 (with its .md5 beside it) -> (directory to serve, file name)."""
    if not artifact.is_file():
        raise MetalImagesError(f"artifact {artifact} does not exist")
    if not artifact.with_name(artifact.name + ".md5").is_file():
        raise MetalImagesError(f"artifact {artifact} has no {artifact.name}.md5 beside it")
    return artifact.parent, artifact.name


def read_os_id(root: Path) -> str:
    path = root / "etc/os-release"
    if not path.exists() and (root / "usr/lib/os-release").exists():
        path = root / "usr/lib/os-release"
    found = os_id(parse_os_release(path.read_text(errors="replace"))) if path.exists() else ""
    if found:
        return found
    raise MetalImagesError(f"the image has no ID in /etc/os-release ({path})")
