"""Failures in the harness leave nothing behind: loop devices, mounts, namespaces, daemons.

Needs root (loop devices, mounts, namespaces); a few seconds.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from pathlib import Path

import lz4.frame
import pytest

from metal_images.errors import MetalImagesError
from metal_images.hammer import emulate, pull
from metal_images.hammer.inputs import load_install_config
from metal_images.proof.harness import FIXTURES
from metal_images.vm.switch import running_switch

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

CONFIG = load_install_config(FIXTURES / "install-machine.yaml")


def _tiny_image(directory: Path, *, good_md5: bool) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in ("etc", "boot"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        script = b"#!/bin/sh\nexit 3\n"
        info = tarfile.TarInfo("install.sh")
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))
        info = tarfile.TarInfo("etc/os-release")
        info.size = 10
        tar.addfile(info, io.BytesIO(b"ID=debian\n"))
    image = directory / "img.tar.lz4"
    image.write_bytes(lz4.frame.compress(raw.getvalue()))
    digest = hashlib.md5(image.read_bytes()).hexdigest() if good_md5 else "0" * 32
    (directory / "img.tar.lz4.md5").write_text(f"{digest}  img.tar.lz4\n")
    return image


def _left_behind(work: Path) -> list[str]:
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    mounts = Path("/proc/self/mounts").read_text()
    return [line for line in (loops + mounts).splitlines() if str(work) in line]


@pytest.mark.parametrize(("good_md5", "error"), [(False, "md5sum mismatch"),
                                                  (True, "in chroot failed")])
def test_install_failure_tears_down(tmp_path: Path, good_md5: bool, error: str) -> None:
    served = tmp_path / "served"
    served.mkdir()
    _tiny_image(served, good_md5=good_md5)
    work = tmp_path / "work"
    with pull.serve_directory(served) as base, pytest.raises(MetalImagesError, match=error):
        emulate.install_image(f"{base}/img.tar.lz4", work, CONFIG, None, uefi=False)
    assert _left_behind(work) == []


def test_switch_is_torn_down_on_error(tmp_path: Path) -> None:
    name = f"mi-td-{os.getpid()}"
    with pytest.raises(RuntimeError), running_switch(name, tmp_path / "switch") as switch:
        assert switch.bgp_summary().get("peers", {}).keys() == {"tap0", "tap1"}
        raise RuntimeError("boom")
    assert name not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    # zebra/bgpd run with files in /tmp/<name>-frr-*, dnsmasq/http with files in tmp_path
    for pattern in (f"{name}-frr-", str(tmp_path)):
        assert subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 1
