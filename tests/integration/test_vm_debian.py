"""End to end: a Debian 12 root tree -> img.tar.lz4 -> hammer install -> kexec-like boot
behind the FRR switch -> every property check passes (machine role).

Takes ~10 minutes under TCG (install ~20 s, boot to SSH ~1.5 min, checks ~5-8 min).
The root tree comes from the builder's `debian_rootfs` fixture; until that exists,
METAL_IMAGES_TEST_ROOTFS names a built tree.
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


def _rootfs(request: pytest.FixtureRequest) -> Path:
    try:
        return Path(request.getfixturevalue("debian_rootfs"))
    except pytest.FixtureLookupError:
        env = os.environ.get("METAL_IMAGES_TEST_ROOTFS")
        if not env:
            pytest.skip("no debian_rootfs fixture and METAL_IMAGES_TEST_ROOTFS is unset")
        return Path(env)


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
def test_debian12_machine(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("qemu-system-x86_64") is None:
        pytest.skip("needs root and qemu-system-x86_64")
    artifact = make_artifact(_rootfs(request), tmp_path / "artifact")
    out = tmp_path / "out"
    options = harness.TestOptions(role="machine", uefi=False, keep=False,
                                  install_yaml=harness.default_install_yaml("machine"),
                                  userdata=harness.default_userdata("machine"))
    report = harness.run_test(str(artifact), out, options)
    print("\n" + (out / "summary.txt").read_text())
    print(f"phases ({report.accel}): {report.phases}")
    assert (out / "junit.xml").exists() and (out / "console.log").stat().st_size > 0
    assert set(report.phases) == {"install", "boot_to_ssh", "checks"}
    failed = [f"{r.name}: {r.message}" for r in report.failed]
    assert not failed, "failed checks:\n" + "\n".join(failed)
    # everything torn down: no namespace or loop device of this test is left
    assert f"mi-vm-{os.getpid()}" not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                         text=True).stdout
    assert str(out / "disk.raw") not in subprocess.run(["losetup", "-a"], capture_output=True,
                                                       text=True).stdout
