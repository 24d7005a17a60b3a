"""A real build of images/ubuntu (mmdebstrap against Ubuntu's archive) and what the tree holds.

Slow (minutes cold). Needs root, mmdebstrap and Ubuntu's archive.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from metal_images.catalog import load_catalog

pytestmark = [pytest.mark.slow, pytest.mark.root]


@pytest.fixture(scope="module")
def rootfs(ubuntu_rootfs: Path) -> Path:
    return ubuntu_rootfs


def dpkg_installed(root: Path, package: str) -> str | None:
    """The installed version of `package` in the tree, or None."""
    result = subprocess.run(
        ["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W",
         "-f", "${db:Status-Status} ${Version}", package],
        capture_output=True, text=True, check=False,
    )
    status, _, version = result.stdout.partition(" ")
    return version if result.returncode == 0 and status == "installed" else None


def test_it_is_ubuntu_jammy_with_updates_and_security(rootfs: Path) -> None:
    release = (rootfs / "etc/os-release").read_text()
    assert "ID=ubuntu" in release.splitlines() and 'VERSION_ID="22.04"' in release
    suites = {line.split()[2] for line in (rootfs / "etc/apt/sources.list").read_text().splitlines()
              if line.startswith("deb ")}
    assert {"jammy", "jammy-updates", "jammy-security"} <= suites
    assert (rootfs / "bin").is_symlink(), "merged /usr"


def test_exactly_one_hwe_kernel(rootfs: Path) -> None:
    """One kernel: the ABI image.yaml pins (jammy's HWE), with its modules-extra of that ABI."""
    maps = sorted((rootfs / "boot").glob("System.map-*"))
    assert len(maps) == 1
    version = maps[0].name.removeprefix("System.map-")
    assert f"linux-image-{version}" == load_catalog().get("ubuntu").kernel
    assert (rootfs / f"boot/vmlinuz-{version}").is_file()
    assert (rootfs / f"boot/initrd.img-{version}").is_file()
    assert dpkg_installed(rootfs, f"linux-image-{version}")
    assert dpkg_installed(rootfs, f"linux-modules-extra-{version}")
    assert not dpkg_installed(rootfs, "linux-image-generic-hwe-22.04")  # no floating metapackage


def test_uid_1000_is_free_for_metal(rootfs: Path) -> None:
    holders = [line.split(":")[0] for line in (rootfs / "etc/passwd").read_text().splitlines()
               if line.split(":")[2] == "1000"]
    assert holders == []


def test_no_netplan_but_cloud_init(rootfs: Path) -> None:
    assert dpkg_installed(rootfs, "netplan.io") is None
    assert dpkg_installed(rootfs, "isc-dhcp-client") is None
    assert dpkg_installed(rootfs, "cloud-init")
    assert not (rootfs / "usr/sbin/netplan").exists()
    assert os.readlink(rootfs / "usr/sbin/dhclient") == "/bin/true"


def test_resolved_frr_and_the_shared_debian_context(rootfs: Path) -> None:
    wants = rootfs / "etc/systemd/system/multi-user.target.wants"
    for unit in ("systemd-resolved.service", "frr.service", "ssh.service", "systemd-networkd.service"):
        assert (wants / unit).is_symlink(), unit
    assert "DNS=8.8.8.8 8.8.4.4" in (rootfs / "etc/systemd/resolved.conf.d/dns.conf").read_text()
    frr = dpkg_installed(rootfs, "frr")
    assert frr and "ubuntu" in frr, "FRR from Ubuntu's archive"
    assert "zebra=yes" in (rootfs / "etc/frr/daemons").read_text()
    assert "kernel.printk = 2 4 1 7" in (rootfs / "etc/sysctl.d/11-console-logging.conf").read_text()
    assert (rootfs / "etc/systemd/system/getty@.service.d/override.conf").is_file()
    assert (rootfs / "install.sh").is_file()


def test_frr_and_sysctls_as_the_vm_checks_expect(rootfs: Path) -> None:
    daemons = (rootfs / "etc/frr/daemons").read_text()
    assert re.search(r"^staticd_options=.*-A 127\.0\.0\.1", daemons, re.M)
    assert "watchfrr_options=" in daemons
    sysctls = (rootfs / "etc/sysctl.d/99-frr_defaults.conf").read_text()
    assert "net.ipv4.fib_multipath_hash_policy = 1" not in sysctls
