"""image-info.json: what is in an image, read from its tree (os-release, kernel, packages,
enabled services, users, size, file count). For people and for `store`/release notes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from metal_images import linkwalk
from metal_images.artifact.packages import Package, package_format
from metal_images.artifact.tartree import TarStats, TreeScan
from metal_images.imagefiles import parse_os_release, parse_passwd


def resolve_in_root(root: Path, path: str) -> Path | None:
    """Follow `path` inside `root` as a chroot would (absolute links restart at `root`).

    Returns the host path of what it points to, or None if it does not exist.
    """
    name = linkwalk.resolve(path, *linkwalk.in_directory(root))
    return None if name is None else root / name


def read_in_root(root: Path, path: str) -> str:
    resolved = resolve_in_root(root, path)
    if resolved is None or not resolved.is_file():
        return ""
    return resolved.read_text(errors="replace")


def kernel_info(root: Path, os_id: str) -> dict[str, Any]:
    boot = root / "boot"
    maps = sorted(p.name for p in boot.glob("System.map-*")) if boot.is_dir() else []
    info: dict[str, Any] = {"system_maps": [f"/boot/{m}" for m in maps]}
    if len(maps) == 1:
        kver = maps[0].removeprefix("System.map-")
        initrd = f"initramfs-{kver}.img" if os_id in ("centos", "almalinux") else f"initrd.img-{kver}"
        info["version"] = kver
        info["kernel"] = f"/boot/vmlinuz-{kver}" if (boot / f"vmlinuz-{kver}").exists() else None
        info["initrd"] = f"/boot/{initrd}" if (boot / initrd).exists() else None
    return info


def kernel_with_package(info: dict[str, Any], packages: list[Package]) -> dict[str, Any]:
    """Add the package that installed the kernel: Debian and Ubuntu name it after the ABI
    (linux-image-<version>), which is what image.yaml's `kernel:` pins (docs/build.md)."""
    version = info.get("version")
    names = (f"linux-image-{version}", f"linux-image-unsigned-{version}", "kernel-core", "kernel")
    installed = next((p for n in names for p in packages if p.name == n), None) if version else None
    package = {"package": installed.name, "package_version": installed.version} if installed else {}
    return {**info, **package}


def enabled_services(root: Path) -> dict[str, Any]:
    """Units linked into *.wants / *.requires under /etc/systemd/system (what `enable` does)."""
    system = root / "etc/systemd/system"
    enabled: set[str] = set()
    masked: set[str] = set()
    if system.is_dir():
        for folder in system.iterdir():
            if folder.is_dir() and folder.name.endswith((".wants", ".requires")):
                enabled.update(child.name for child in folder.iterdir())
            elif folder.is_symlink() and os.readlink(folder) == "/dev/null":
                masked.add(folder.name)
    default = system / "default.target"
    default_target = os.path.basename(os.readlink(default)) if default.is_symlink() else None
    return {"default_target": default_target, "enabled": sorted(enabled), "masked": sorted(masked)}


def image_info(
    root: Path,
    *,
    image: dict[str, str],
    packages: list[Package],
    scan: TreeScan,
    stats: TarStats,
    compressed_size: int,
    source_date_epoch: int,
) -> dict[str, Any]:
    os_release = parse_os_release(read_in_root(root, "/etc/os-release"))
    users = [
        {"name": u.name, "uid": u.uid, "gid": u.gid, "home": u.home, "shell": u.shell}
        for u in parse_passwd(read_in_root(root, "/etc/passwd"))
    ]
    return {
        "image": image,
        "os_release": os_release,
        "kernel": kernel_with_package(kernel_info(root, os_release.get("ID", "").lower()), packages),
        "packages": {
            "format": package_format(root),
            "count": len(packages),
            "list": [{"name": p.name, "version": p.version, "arch": p.arch} for p in packages],
        },
        "services": enabled_services(root),
        "users": users,
        "size": {
            "file_bytes": stats.file_bytes,
            "tar_bytes": stats.tar_bytes,
            "compressed_bytes": compressed_size,
        },
        "file_count": {
            "entries": stats.entries,
            "files": stats.files,
            "directories": stats.dirs,
            "symlinks": stats.symlinks,
            "hardlinks": stats.hardlinks,
        },
        "left_out": [{"name": name, "type": kind} for name, kind in scan.skipped],
        "source_date_epoch": source_date_epoch,
    }
