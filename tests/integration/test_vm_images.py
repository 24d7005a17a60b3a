"""End to end, per image: the built root tree -> img.tar.lz4 -> hammer install ->
kexec-like boot behind the FRR switch -> every property check of its role passes
(Debian 12, Debian 13, Ubuntu 22.04, 24.04 and 26.04 as machines, Firewall 3.0-ubuntu as a
firewall); Debian 13 and Ubuntu 26.04 also through GRUB with UEFI (--uefi).

Each takes 2.5-5 minutes under TCG (install ~20 s, boot to SSH ~1 min, checks 1.5-3 min).
The root trees come from the builder's session fixtures (tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from metal_images.hammer.emulate import DISK_FILE
from metal_images.installer_bundle import write_install_sh
from metal_images.proof import harness
from metal_images.vm import qemu

pytestmark = [pytest.mark.slow, pytest.mark.vm, pytest.mark.root]


def make_artifact(rootfs: Path, directory: Path) -> Path:
    """img.tar.lz4 + .md5 of `rootfs`, with our installer added if the tree has none
    (the tree itself is not changed)."""
    directory.mkdir(parents=True, exist_ok=True)
    image = directory / "img.tar.lz4"
    with tempfile.TemporaryDirectory(prefix="installer-") as extra:
        members = ["-C", str(rootfs), "."]
        if not (rootfs / "install.sh").exists() and not (rootfs / "install-go").exists():
            write_install_sh(Path(extra))
            members += ["-C", extra, "install.sh"]
        with open(image, "wb") as out:
            tar = subprocess.Popen(["tar", "--numeric-owner", "-c", *members], stdout=subprocess.PIPE)
            lz4 = subprocess.run(["lz4", "-q", "-1"], stdin=tar.stdout, stdout=out, check=False)
            assert tar.wait() == 0 and lz4.returncode == 0
    digest = hashlib.md5(image.read_bytes()).hexdigest()
    (directory / "img.tar.lz4.md5").write_text(f"{digest}  img.tar.lz4\n")
    return image


CASES = [
    pytest.param("debian", "machine", False, id="debian-machine"),
    pytest.param("ubuntu", "machine", False, id="ubuntu-machine"),
    pytest.param("firewall", "firewall", False, id="firewall-firewall"),
    # the releases (issue 15): Debian 13 and Ubuntu 26.04 through GRUB with UEFI
    pytest.param("debian-13", "machine", True, id="debian-13-machine-uefi"),
    pytest.param("ubuntu-24.04", "machine", False, id="ubuntu-24.04-machine"),
    pytest.param("ubuntu-26.04", "machine", True, id="ubuntu-26.04-machine-uefi"),
    # a GPU image on a machine without a GPU: the machine checks and checks/gpu.py
    pytest.param("debian-nvidia", "machine", False, id="debian-nvidia-machine"),
]


@pytest.mark.timeout(2400)
@pytest.mark.parametrize(("family", "role", "uefi"), CASES)
def test_image_boots_and_passes_its_checks(rootfs_of: Callable[[str], Path], tmp_path: Path,
                                           family: str, role: str, uefi: bool) -> None:
    if os.geteuid() != 0 or shutil.which("qemu-system-x86_64") is None:
        pytest.skip("needs root and qemu-system-x86_64")
    if uefi and not Path(qemu.OVMF_CODE).is_file():
        pytest.skip(f"--uefi needs OVMF ({qemu.OVMF_CODE})")
    artifact = make_artifact(rootfs_of(family), tmp_path / "artifact")
    out = tmp_path / "out"
    options = harness.TestOptions(role=role, uefi=uefi, keep=False,
                                  install_yaml=harness.default_install_yaml(role),
                                  userdata=harness.default_userdata(role))
    try:
        report = harness.run_test(str(artifact), out, options)
        passed_disk_left = report.ok and (out / DISK_FILE).exists()
    finally:
        # GBs per case: seven cases would fill a CI disk (the logs in `out` stay)
        shutil.rmtree(artifact.parent)
        (out / DISK_FILE).unlink(missing_ok=True)
    print("\n" + (out / "summary.txt").read_text())
    print(f"phases ({report.accel}): {report.phases}")
    assert (out / "junit.xml").exists() and (out / "console.log").stat().st_size > 0
    assert set(report.phases) == {"install", "boot_to_ssh", "checks"}
    failed = [f"{r.name}: {r.message}" for r in report.failed]
    names = " ".join(r.name for r in report.results)
    if role == "firewall":  # the role's own checks ran, not only the common ones
        assert "node_exporter_serves_in_private_vrf" in names and "firewall_service" in names
    else:
        assert "machine_service" in names
    if family == "debian-nvidia":
        assert "modinfo_names_the_running_kernel" in names
    assert not failed, "failed checks:\n" + "\n".join(failed)
    assert not passed_disk_left, "a passing run keeps no disk image"
    # everything torn down: no namespace or loop device of this test is left
    assert f"mi-vm-{os.getpid()}" not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                         text=True).stdout
    assert str(out / DISK_FILE) not in subprocess.run(["losetup", "-a"], capture_output=True,
                                                       text=True).stdout
