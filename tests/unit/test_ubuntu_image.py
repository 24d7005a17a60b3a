"""The ubuntu and firewall catalog entries: what they promise, checked on the YAML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metal_images.catalog import Catalog, ImageSpec

IMAGES = Path(__file__).resolve().parents[2] / "images"
# Debian packages Ubuntu 22.04 has under another name or not at all: {debian: ubuntu or None}
NOT_ON_UBUNTU: dict[str, str | None] = {
    # Ubuntu's kernel depends on linux-firmware, which carries the E810 DDP package
    "firmware-misc-nonfree": None,
}
ARCHIVE_HOST = re.compile(r"\b[\w.-]*(ubuntu\.com|debian\.org|debian\.net)\b")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(IMAGES)


@pytest.fixture(scope="module")
def ubuntu(catalog: Catalog) -> ImageSpec:
    return catalog.get("ubuntu")


@pytest.fixture(scope="module")
def firewall(catalog: Catalog) -> ImageSpec:
    return catalog.get("firewall")


def test_ubuntu_is_jammy_from_the_default_archive(ubuntu: ImageSpec) -> None:
    assert (ubuntu.name, ubuntu.version) == ("ubuntu", "22.04")
    assert (ubuntu.distribution, ubuntu.suite) == ("ubuntu", "jammy")
    assert ubuntu.mirror is None, "the archive is mmdebstrap's default, never written here"
    assert ubuntu.keyring and (ubuntu.folder / ubuntu.keyring).is_file()
    assert {"main", "universe"} <= set(ubuntu.components)
    assert ubuntu.kernel is not None and ubuntu.kernel.startswith("linux-image-6.8.0-")  # jammy HWE
    assert ubuntu.kernel not in ubuntu.packages, "the kernel is named once, by `kernel:`"
    assert "systemd-resolved.service" in ubuntu.services.enable


def test_ubuntu_has_debians_packages(catalog: Catalog, ubuntu: ImageSpec) -> None:
    debian = catalog.get("debian")
    expected = {name for p in debian.packages if (name := NOT_ON_UBUNTU.get(p, p)) is not None}
    assert expected <= set(ubuntu.packages), sorted(expected - set(ubuntu.packages))
    assert set(debian.services.enable) <= set(ubuntu.services.enable)


def test_firewall_is_built_on_ubuntu(catalog: Catalog, firewall: ImageSpec) -> None:
    assert (firewall.name, firewall.version) == ("firewall", "3.0-ubuntu")
    assert firewall.image_id == "firewall-3.0-ubuntu"
    assert firewall.from_ == "ubuntu" and catalog.base("firewall").family == "ubuntu"
    assert (firewall.role, firewall.features) == ("firewall", ["firewall"])
    assert {"nftables", "suricata", "suricata-update", "chrony", "prometheus-node-exporter"} <= set(
        firewall.packages)
    assert "chrony.service" in firewall.services.disable
    assert "chrony.service" in firewall.services.mask
    assert "/etc/systemd/system/getty@.service.d" in firewall.remove


def test_firewall_declares_its_downloads(firewall: ImageSpec) -> None:
    by_name = {a.name: a for a in firewall.artifacts}
    assert set(by_name) == {"firewall-controller", "droptailer-client", "tailscale", "nftables-exporter"}
    assert all(a.url.startswith("https://") for a in by_name.values())
    assert by_name["nftables-exporter"].extract and by_name["nftables-exporter"].path == "/"
    assert by_name["firewall-controller"].path == "/usr/local/bin/firewall-controller"


def test_no_archive_host_is_written_down() -> None:
    for family in ("ubuntu", "firewall"):
        for path in (IMAGES / family).rglob("*"):
            if path.is_file() and path.suffix != ".gpg":
                found = ARCHIVE_HOST.search(path.read_text())
                assert found is None, f"{path}: names the archive host {found.group(0) if found else ''}"
