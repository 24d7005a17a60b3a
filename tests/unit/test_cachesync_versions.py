from __future__ import annotations

import pytest

from metal_images.errors import ConfigError
from metal_images.identity import ApiVersion, parse_api_id, parse_api_version
from metal_images.sizes import format_size, parse_size


@pytest.mark.parametrize(("image_id", "os_name", "version"), [
    ("ubuntu-19.10.20191018", "ubuntu", ApiVersion(19, 10, 20191018)),
    ("firewall-ubuntu-2.0.20201004", "firewall-ubuntu", ApiVersion(2, 0, 20201004)),
    ("ubuntu-19.04", "ubuntu", ApiVersion(19, 4, 0)),
    ("debian-12", "debian", ApiVersion(12, 0, 0)),
    ("debian-nvidia-12.0.20240101", "debian-nvidia", ApiVersion(12, 0, 20240101)),
    ("centos-v7.0.20200101", "centos", ApiVersion(7, 0, 20200101)),
])
def test_os_and_version(image_id: str, os_name: str, version: ApiVersion) -> None:
    assert parse_api_id(image_id) == (os_name, version)


@pytest.mark.parametrize("image_id", ["debian", "debian-", "-12.0", "debian-twelve", "debian-12.0.1.2"])
def test_bad_ids(image_id: str) -> None:
    with pytest.raises(ValueError):
        parse_api_id(image_id)


def test_version_order() -> None:
    versions = ["1.0.0", "1.0.0-rc.1", "1.0.0-rc.2", "0.9.9", "1.0.1", "1.0.0-beta"]
    assert [str(v) for v in sorted(parse_api_version(t) for t in versions)] == [
        "0.9.9", "1.0.0-beta", "1.0.0-rc.1", "1.0.0-rc.2", "1.0.0", "1.0.1"]
    assert parse_api_version("24.04.20240101").major_minor == "24.4"


@pytest.mark.parametrize(("text", "size"), [
    ("10G", 10 << 30), ("512M", 512 << 20), ("100", 100), ("1.5G", 3 << 29), ("2Gi", 2 << 30),
    ("3GB", 3 << 30), ("7k", 7 << 10), (" 1T ", 1 << 40),
])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "ten", "10X", "-1G"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        parse_size(text, what="--max-cache-size")


def test_format_size() -> None:
    assert format_size(512) == "512 B"
    assert format_size(3 << 30) == "3.0 GiB"
