"""The server's disk: a sparse raw file with a GPT, attached as a loop device.

Layout as metal-hammer's default for machines: partition 1 `efi` (vfat), partition 2
`root` (ext4). File systems are made with the hammer's options (`mkfs.ext4 -F -L`,
`mkfs.vfat -n`) and mounted by path depth.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from metal_images import chroot
from metal_images.errors import MetalImagesError
from metal_images.runner import capture, run


@dataclass(frozen=True)
class Partition:
    number: int
    label: str
    size_mib: int  # 0 = the rest of the disk
    gpt_type: str
    fstype: str
    mountpoint: str


# metal-hammer's default layout for machines (efi 500M, root), without varlib
DEFAULT_LAYOUT: tuple[Partition, ...] = (
    Partition(1, "efi", 500, "ef00", "vfat", "/boot/efi"),
    Partition(2, "root", 0, "8300", "ext4", "/"),
)


@dataclass(frozen=True)
class Filesystem:
    partition: Partition
    device: str
    uuid: str


@dataclass(frozen=True)
class FstabEntry:
    spec: str
    path: str
    fstype: str
    options: str
    passno: int

    def line(self) -> str:
        return f"{self.spec} {self.path} {self.fstype} {self.options} 0 {self.passno}"


def create_disk_image(path: Path, size_gib: int) -> None:
    """A sparse file of `size_gib` GiB (costs only what is written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size_gib * 1024**3)


def partition(device: str, layout: tuple[Partition, ...] = DEFAULT_LAYOUT) -> None:
    """`sgdisk --new --change-name --typecode` per partition, as the hammer runs it."""
    run(["wipefs", "--all", device])
    for part in layout:
        size = f"+{part.size_mib}M" if part.size_mib else "0"
        run(["sgdisk", f"--new={part.number}:0:{size}", f"--change-name={part.number}:{part.label}",
             f"--typecode={part.number}:{part.gpt_type}", device])


@contextmanager
def loop_device(image: Path) -> Iterator[str]:
    """Attach `image` with partition scanning; always detached afterwards."""
    device = capture(["losetup", "--find", "--show", "--partscan", str(image)]).strip()
    if not device.startswith("/dev/loop"):
        raise MetalImagesError(f"losetup gave no loop device for {image}: {device!r}")
    try:
        yield device
    finally:
        run(["losetup", "--detach", device], check=False)


def partition_device(loop: str, number: int) -> str:
    """`/dev/loopNpM`, waiting briefly for the kernel to create the node."""
    path = f"{loop}p{number}"
    deadline = time.monotonic() + 10
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise MetalImagesError(f"partition {path} did not appear after losetup --partscan")
        time.sleep(0.1)
    return path


def make_filesystem(device: str, part: Partition) -> str:
    """mkfs as the hammer does; returns the file system UUID (from blkid)."""
    if part.fstype in ("ext3", "ext4"):
        run([f"mkfs.{part.fstype}", "-F", "-L", part.label, device])
    elif part.fstype == "vfat":
        run(["mkfs.vfat", "-n", part.label, device])
    else:
        raise MetalImagesError(f"unsupported file system {part.fstype!r} for partition {part.label}")
    return capture(["blkid", "-s", "UUID", "-o", "value", device]).strip()


def format_disk(loop: str, layout: tuple[Partition, ...] = DEFAULT_LAYOUT) -> list[Filesystem]:
    partition(loop, layout)
    run(["partx", "--update", loop], check=False)  # sgdisk's re-read may race with losetup
    return [Filesystem(part, dev, make_filesystem(dev, part))
            for part in layout for dev in [partition_device(loop, part.number)]]


def mount_order(filesystems: list[Filesystem]) -> list[Filesystem]:
    """By path depth, `/` first (the hammer's order)."""
    def depth(fs: Filesystem) -> int:
        return 0 if fs.partition.mountpoint == "/" else fs.partition.mountpoint.count("/")
    return sorted(filesystems, key=depth)


def fstab_entries(filesystems: list[Filesystem]) -> list[FstabEntry]:
    return [FstabEntry(f"UUID={fs.uuid}", fs.partition.mountpoint, fs.partition.fstype, "defaults",
                       1 if fs.partition.mountpoint == "/" else 2)
            for fs in mount_order(filesystems)]


def host_supports(fstype: str) -> bool:
    """Whether the running kernel can mount `fstype` (some test hosts lack vfat)."""
    with open("/proc/filesystems") as handle:
        known = {line.split()[-1] for line in handle if line.strip()}
    return fstype in known


@contextmanager
def mounted(filesystems: list[Filesystem], root: Path) -> Iterator[list[Filesystem]]:
    """Mount every file system under `root` in the hammer's order; unmount in reverse.

    Yields the file systems the host kernel cannot mount (vfat on some hosts). Those get a
    tmpfs whose mount source is the partition's device: grub-install finds the device
    through /proc/self/mountinfo and probes FAT there (it refuses anything else), while
    the files land in the tmpfs; `fill_unmounted()` copies them into the FAT file
    system with mtools once the installer is done.
    """
    unmounted: list[Filesystem] = []
    with ExitStack() as stack:
        for fs in mount_order(filesystems):
            target = root / fs.partition.mountpoint.lstrip("/")
            if fs.partition.fstype == "vfat" and not host_supports("vfat"):
                stack.enter_context(chroot.mount(fs.device, target, fstype="tmpfs", options="mode=0755"))
                unmounted.append(fs)
                continue
            stack.enter_context(chroot.mount(fs.device, target, fstype=fs.partition.fstype))
        yield unmounted


def fill_unmounted(root: Path, unmounted: list[Filesystem]) -> None:
    """Copy what the installer wrote into the staging tmpfs of an unmountable vfat
    file system into the partition itself (mcopy)."""
    for fs in unmounted:
        source = root / fs.partition.mountpoint.lstrip("/")
        entries = sorted(source.iterdir())
        if entries:
            run(["mcopy", "-s", "-p", "-i", fs.device, *map(str, entries), "::/"],
                env={"MTOOLS_SKIP_CHECK": "1"})


def root_uuid(filesystems: list[Filesystem]) -> str:
    for fs in filesystems:
        if fs.partition.label == "root":
            return fs.uuid
    raise MetalImagesError("the disk layout has no partition labelled root")
