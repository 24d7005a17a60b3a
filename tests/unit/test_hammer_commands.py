"""The hammer emulation's real code against recorded tools: the disk is partitioned,
formatted, mounted and handed to the installer the way metal-hammer does it (no root,
no loop device; the recording runner answers for losetup, blkid and the installer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metal_images import runner
from metal_images.errors import MetalImagesError
from metal_images.hammer import disk
from metal_images.hammer.install import run_installer
from tests.support.recording_runner import Call, RecordingRunner, Reply

UUIDS = {"p1": "AB12-CD34", "p2": "0b0e5b9c-32c4-4c9f-9e0c-0d6a3a1f2b77"}


@pytest.fixture()
def loop(tmp_path: Path) -> str:
    """A stand-in for /dev/loopN whose partition nodes exist, as after `losetup --partscan`."""
    device = tmp_path / "loop7"
    for number in (1, 2):
        (tmp_path / f"loop7p{number}").write_bytes(b"")
    return str(device)


@pytest.fixture()
def fake() -> Iterator[RecordingRunner]:
    def blkid(call: Call) -> Reply:
        return Reply(output=UUIDS[call.argv[-1].rsplit("loop7", 1)[1]] + "\n")

    recording = RecordingRunner(handlers={"blkid": blkid})
    with runner.replaced(recording):
        yield recording


def test_format_disk_partitions_and_formats_like_the_hammer(fake: RecordingRunner, loop: str) -> None:
    filesystems = disk.format_disk(loop)
    assert [" ".join(c.argv) for c in fake.calls] == [
        f"wipefs --all {loop}",
        f"sgdisk --new=1:0:+500M --change-name=1:efi --typecode=1:ef00 {loop}",
        f"sgdisk --new=2:0:0 --change-name=2:root --typecode=2:8300 {loop}",
        f"partx --update {loop}",
        f"mkfs.vfat -n efi {loop}p1",
        f"blkid -s UUID -o value {loop}p1",
        f"mkfs.ext4 -F -L root {loop}p2",
        f"blkid -s UUID -o value {loop}p2",
    ]
    assert disk.root_uuid(filesystems) == UUIDS["p2"]
    assert [e.line() for e in disk.fstab_entries(filesystems)] == [
        f"UUID={UUIDS['p2']} / ext4 defaults 0 1",
        f"UUID={UUIDS['p1']} /boot/efi vfat defaults 0 2",
    ]


def test_loop_device_is_detached_on_every_exit(fake: RecordingRunner, tmp_path: Path) -> None:
    fake.handlers["losetup"] = lambda call: Reply(output="/dev/loop9\n") if "--find" in call.argv else None
    with pytest.raises(RuntimeError), disk.loop_device(tmp_path / "disk.raw") as device:
        assert device == "/dev/loop9"
        raise RuntimeError("the install failed")
    assert fake.calls[-1].argv == ["losetup", "--detach", "/dev/loop9"]


def test_loop_device_refuses_what_is_no_loop_device(fake: RecordingRunner, tmp_path: Path) -> None:
    fake.handlers["losetup"] = lambda call: Reply(output="losetup: cannot find an unused loop device\n")
    with pytest.raises(MetalImagesError, match="no loop device"), disk.loop_device(tmp_path / "disk.raw"):
        pass
    assert [c.argv[1] for c in fake.calls] == ["--find"]  # nothing attached, nothing to detach


def test_mounted_goes_by_depth_and_unmounts_in_reverse(fake: RecordingRunner, loop: str,
                                                       tmp_path: Path) -> None:
    filesystems = disk.format_disk(loop)
    fake.calls.clear()
    root = tmp_path / "target"
    with disk.mounted(filesystems, root) as unmounted:
        assert (root / "boot/efi").is_dir()
    mounts = [c.argv for c in fake.calls if c.program == "mount"]
    unmounts = [c.argv[-1] for c in fake.calls if c.program == "umount"]
    assert [m[-1] for m in mounts] == [str(root), str(root / "boot/efi")]
    assert mounts[0][1:] == ["-t", "ext4", f"{loop}p2", str(root)]
    # a host kernel without vfat gets a tmpfs staged on the partition (filled by mcopy later)
    efi_type = "tmpfs" if unmounted else "vfat"
    assert mounts[1][1:3] == ["-t", efi_type]
    assert unmounts == [str(root / "boot/efi"), str(root)]


def test_a_failed_mount_is_one_clear_error(fake: RecordingRunner, loop: str, tmp_path: Path) -> None:
    filesystems = disk.format_disk(loop)
    fake.handlers["mount"] = lambda call: Reply(code=32, stderr="mount: wrong fs type\n")
    with pytest.raises(MetalImagesError, match=r"mount failed: .*wrong fs type"), \
            disk.mounted(filesystems, tmp_path / "target"):
        pass


def test_fill_unmounted_copies_with_mtools(fake: RecordingRunner, loop: str, tmp_path: Path) -> None:
    efi = next(fs for fs in disk.format_disk(loop) if fs.partition.label == "efi")
    root = tmp_path / "target"
    (root / "boot/efi/EFI").mkdir(parents=True)
    fake.calls.clear()
    disk.fill_unmounted(root, [efi])
    assert fake.calls[0].argv == ["mcopy", "-s", "-p", "-i", f"{loop}p1", str(root / "boot/efi/EFI"), "::/"]
    assert fake.calls[0].env == {"MTOOLS_SKIP_CHECK": "1"}


def _image_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for folder in ("etc", "proc", "sys", "dev/pts", "tmp"):
        (root / folder).mkdir(parents=True)
    (root / "install.sh").write_text("#!/bin/sh\n")
    return root


def test_the_installer_runs_in_a_chroot_and_is_removed(fake: RecordingRunner, tmp_path: Path) -> None:
    root = _image_root(tmp_path)
    fake.handlers["install.sh"] = lambda call: Reply(output="installed\n")
    assert run_installer(root, from_ci=True) == "installed\n"
    call = next(c for c in fake.calls if c.kind == "run")
    assert call.argv[:2] == ["chroot", str(root.resolve())] and call.inner == ["/install.sh"]
    assert "INSTALL_FROM_CI=true" in call.argv
    assert not (root / "install.sh").exists()
    mounted = [c.argv[-1] for c in fake.calls if c.program == "mount"]
    assert str(root.resolve() / "proc") in mounted and str(root.resolve() / "tmp") in mounted


def test_a_failing_installer_names_its_exit_code_and_keeps_it(fake: RecordingRunner, tmp_path: Path) -> None:
    root = _image_root(tmp_path)
    fake.handlers["install.sh"] = lambda call: Reply(code=4, output="grub-install: error\n")
    with pytest.raises(MetalImagesError, match=r"/install.sh in chroot failed \(exit 4\)") as info:
        run_installer(root, from_ci=False)
    assert "grub-install: error" in info.value.detail
    assert (root / "install.sh").exists()
    call = next(c for c in fake.calls if c.kind == "run")
    assert not any(a.startswith("INSTALL_FROM_CI") for a in call.argv)
