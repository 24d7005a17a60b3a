"""End to end, per image: the built root tree -> img.tar.lz4 -> hammer install ->
kexec-like boot behind the FRR switch -> every property check of its role passes
(Debian 12 and Ubuntu 22.04 as machines, Firewall 3.0-ubuntu as a firewall).

Each takes 2.5-5 minutes under TCG (install ~20 s, boot to SSH ~1 min, checks 1.5-3 min).
The root trees come from the builder's session fixtures (tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from metal_images.installer_bundle import write_install_sh
from metal_images.vm import harness

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


@pytest.mark.timeout(2400)
@pytest.mark.parametrize(("family", "role"), [("debian", "machine"), ("ubuntu", "machine"),
                                              ("firewall", "firewall")])
def test_image_boots_and_passes_its_checks(request: pytest.FixtureRequest, tmp_path: Path,
                                           family: str, role: str) -> None:
    if os.geteuid() != 0 or shutil.which("qemu-system-x86_64") is None:
        pytest.skip("needs root and qemu-system-x86_64")
    rootfs = Path(request.getfixturevalue(f"{family}_rootfs"))
    artifact = make_artifact(rootfs, tmp_path / "artifact")
    out = tmp_path / "out"
    options = harness.TestOptions(role=role, uefi=False, keep=False,
                                  install_yaml=harness.default_install_yaml(role),
                                  userdata=harness.default_userdata(role))
    report = harness.run_test(str(artifact), out, options)
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
    assert not failed, "failed checks:\n" + "\n".join(failed)
    # everything torn down: no namespace or loop device of this test is left
    assert f"mi-vm-{os.getpid()}" not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                         text=True).stdout
    assert str(out / "disk.raw") not in subprocess.run(["losetup", "-a"], capture_output=True,
                                                       text=True).stdout
