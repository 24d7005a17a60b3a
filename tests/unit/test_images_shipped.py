"""The catalog's promises from issue 13, read from image.yaml and the shared context.

Each check here fails if the file that delivers the promise loses it; the VM checks
(checks/shipped.py) prove the same on a booted machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metal_images.artifact.imageinfo import kernel_with_package
from metal_images.artifact.packages import Package
from metal_images.catalog import Catalog

IMAGES = Path(__file__).resolve().parents[2] / "images"
CONTEXT = IMAGES / "debian/context"
SHARED = IMAGES / "shared/context"  # what every family's image.yaml overlays first
MACHINES = ("debian", "ubuntu")
# Debian 12 `6.1.0-57`, Debian 13 `6.12.118+deb13`, Ubuntu `6.8.0-149-generic`
KERNEL_ABI = re.compile(r"^linux-image-(?P<abi>\d+\.\d+\.\d+(-\d+|\+deb\d+)-(amd64|generic))$")
APT_IMAGES = ("debian", "debian-13", "debian-nvidia", "ubuntu", "ubuntu-24.04", "ubuntu-26.04")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(IMAGES)


@pytest.mark.parametrize("family", MACHINES)
def test_kubernetes_and_ops_packages(catalog: Catalog, family: str) -> None:
    packages = set(catalog.get(family).packages)
    assert {"apparmor", "apparmor-utils", "ethtool", "cryptsetup", "cpufrequtils", "lldpd"} <= packages


@pytest.mark.parametrize("family", MACHINES)
def test_shared_steps_and_units(catalog: Catalog, family: str) -> None:
    spec = catalog.get(family)
    steps = [Path(s).name for s in spec.steps]
    assert {"40-network-standin.sh", "50-kubernetes.sh", "60-hardware.sh"} <= set(steps)
    assert {"nvme-host-identity.service", "apparmor.service", "lldpd.service"} <= set(spec.services.enable)
    assert any(a.name == "crictl" and a.path == "/usr/local/bin" for a in spec.artifacts)


@pytest.mark.parametrize("name", APT_IMAGES)
def test_kernel_is_pinned_to_an_abi(catalog: Catalog, name: str) -> None:
    kernel = catalog.get(name).kernel
    match = KERNEL_ABI.match(kernel or "")
    assert match, kernel
    # Ubuntu's modules come in packages of their own: they must be the kernel's ABI
    modules = [p for p in catalog.get(name).packages if p.startswith("linux-modules")]
    assert all(p.endswith("-" + match["abi"]) for p in modules), (kernel, modules)
    if catalog.distribution(name) == "ubuntu":
        assert modules, f"{name}: no linux-modules package for {kernel}"


def test_list_shows_the_kernel_a_derived_image_inherits(catalog: Catalog) -> None:
    from metal_images.commands.catalog import _kernel

    assert _kernel(catalog, catalog.get("firewall")) == catalog.get("ubuntu").kernel


def test_image_info_names_the_kernel_package() -> None:
    info = {"version": "6.1.0-57-amd64"}
    packages = [Package("linux-image-amd64", "amd64", "6.1.192-3"),
                Package("linux-image-6.1.0-57-amd64", "amd64", "6.1.192-3")]
    assert kernel_with_package(info, packages) == {
        "version": "6.1.0-57-amd64", "package": "linux-image-6.1.0-57-amd64", "package_version": "6.1.192-3"}
    assert kernel_with_package(info, packages[:1]) == info


def test_sshd_reads_our_settings_before_any_drop_in() -> None:
    lines = [x.strip() for x in (CONTEXT / "etc/ssh/sshd_config").read_text().splitlines()
             if x.strip() and not x.startswith("#")]
    assert lines[-1] == "Include /etc/ssh/sshd_config.d/*.conf"
    assert sum(x.startswith("Include") for x in lines) == 1
    for setting in ("AllowStreamLocalForwarding no", "PermitUserRC no", "MaxStartups 10:30:60"):
        assert setting in lines
    assert any(x.startswith("RekeyLimit ") for x in lines)


def test_pam_and_logrotate_hardening() -> None:
    auth = (CONTEXT / "etc/pam.d/common-auth").read_text()
    assert re.search(r"pam_faillock\.so preauth .*deny=5 unlock_time=900", auth)
    assert re.search(r"pam_faillock\.so authfail .*deny=5 unlock_time=900", auth)
    assert "pam_faillock.so" in (CONTEXT / "etc/pam.d/common-account").read_text()
    assert "remember=5" in (CONTEXT / "etc/pam.d/common-password").read_text()
    assert re.search(r"^auth\s+required\s+pam_wheel\.so .*group=root", (CONTEXT / "etc/pam.d/su").read_text(),
                     re.MULTILINE)
    assert re.search(r"^create 0640 root utmp$", (CONTEXT / "etc/logrotate.conf").read_text(), re.MULTILINE)


def test_containerd_limits_drop_in() -> None:
    text = (CONTEXT / "etc/systemd/system/containerd.service.d/40-limits.conf").read_text()
    assert "LimitNOFILE=1048576" in text.splitlines() and "LimitNPROC=infinity" in text.splitlines()


def test_watchdog_is_armed_with_60_seconds() -> None:
    conf = (SHARED / "etc/watchdog.conf").read_text()
    assert re.search(r"^watchdog-device = /dev/watchdog$", conf, re.MULTILINE)
    assert re.search(r"^watchdog-timeout = 60$", conf, re.MULTILINE)
    assert "ipmi_watchdog" in (SHARED / "etc/modules-load.d/ipmi_watchdog.conf").read_text()


def test_timesyncd_retries_within_two_minutes_of_bgp() -> None:
    """timesyncd doubles its wait after each failed round (no route before BGP) up to
    PollIntervalMaxSec: bounded, the first sync follows BGP within minutes (docs/build.md)."""
    text = (CONTEXT / "etc/systemd/timesyncd.conf.d/10-retry.conf").read_text()
    limit = re.search(r"^PollIntervalMaxSec=(\d+)$", text, re.MULTILINE)
    assert limit and int(limit.group(1)) <= 128 and text.splitlines().count("[Time]") == 1
