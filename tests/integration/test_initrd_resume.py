"""The initrd in the exported Debian 12 image was built after the context overlay: it
carries `RESUME=none` from /etc/initramfs-tools/conf.d/resume (issue 13.6).

Root, needs the built Debian tree (the debian_rootfs fixture); exports it once (about a
minute). The initrd is read out of img.tar.lz4 and unpacked here: newc cpio archives one
after the other (the early microcode one uncompressed, the main one compressed).
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import lz4.frame
import pytest

from metal_images.artifact import registry
from metal_images.artifact.exporter import ImageIdentity, export_tree

pytestmark = [pytest.mark.slow, pytest.mark.root,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

CPIO_MAGIC = b"070701"
DECOMPRESSORS = {b"\x28\xb5\x2f\xfd": ["zstd", "-dc"], b"\x1f\x8b": ["gzip", "-dc"],
                 b"\xfd7zXZ": ["xz", "-dc"]}


def cpio_files(data: bytes) -> tuple[dict[str, bytes], int]:
    """The files of the newc cpio archive at the start of `data`, and where it ends."""
    files: dict[str, bytes] = {}
    offset = 0
    while True:
        header = data[offset:offset + 110]
        assert header[:6] == CPIO_MAGIC, f"no cpio header at byte {offset}"
        size, name_size = int(header[54:62], 16), int(header[94:102], 16)
        name_start = offset + 110
        name = data[name_start:name_start + name_size - 1].decode()
        body = (name_start + name_size + 3) & ~3
        if name == "TRAILER!!!":
            return files, (body + 3) & ~3
        files[name] = data[body:body + size]
        offset = (body + size + 3) & ~3


def initramfs_files(data: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    while data:
        data = data.lstrip(b"\0")
        if not data:
            break
        if data.startswith(CPIO_MAGIC):
            part, end = cpio_files(data)
            files.update(part)
            data = data[end:]
            continue
        tool = next((argv for magic, argv in DECOMPRESSORS.items() if data.startswith(magic)), None)
        assert tool is not None, f"unknown initrd part starting with {data[:6].hex()}"
        files.update(cpio_files(subprocess.run(tool, input=data, capture_output=True, check=True).stdout)[0])
        break  # the compressed archive is the last part
    return files


def test_exported_initrd_has_resume_none(debian_rootfs: Path, tmp_path: Path) -> None:
    export_tree(debian_rootfs, tmp_path / "out", ImageIdentity("debian", "debian", "12", "test"))
    initrd = b""
    with lz4.frame.open(tmp_path / "out" / registry.IMAGE, "rb") as raw, \
            tarfile.open(fileobj=raw, mode="r|") as tar:
        for member in tar:
            if member.isfile() and member.name.lstrip("./").startswith("boot/initrd.img-"):
                handle = tar.extractfile(member)
                assert handle is not None
                initrd = handle.read()
    assert initrd, "no /boot/initrd.img-* in the archive"
    files = initramfs_files(initrd)
    assert "init" in files and any(n.startswith("usr/lib/modules/") or n.startswith("lib/modules/")
                                   for n in files), "not the main initramfs"
    resume = files.get("conf/conf.d/resume", b"").decode()
    assert "RESUME=none" in resume.splitlines(), f"conf/conf.d/resume: {resume!r}"
