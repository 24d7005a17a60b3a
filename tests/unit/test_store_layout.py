"""Store layout: channels, image paths, keys that could escape, metal-api ids."""

from __future__ import annotations

import pytest

from metal_images.errors import ConfigError
from metal_images.store.identity import api_identity, display_name
from metal_images.store.layout import check_key, parse_channel, parse_image_path, ref_from_key


@pytest.mark.parametrize(
    ("text", "path", "kind"),
    [
        ("stable", "stable", "stable"),
        ("/stable/", "stable", "stable"),
        ("20261125", "20261125", "release"),
        ("pull_requests/42-fix-grub", "pull_requests/42-fix-grub", "pull_request"),
        ("42-fix-grub", "pull_requests/42-fix-grub", "pull_request"),
        ("pull_requests/7-deps.update_x", "pull_requests/7-deps.update_x", "pull_request"),
        ("7-Renovate_Bump", "pull_requests/7-Renovate_Bump", "pull_request"),
    ],
)
def test_good_channels(text: str, path: str, kind: str) -> None:
    channel = parse_channel(text)
    assert (channel.path, channel.kind) == (path, kind)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "master",
        "Stable",
        "2026112",
        "20261332",
        "20260230",
        "../stable",
        "stable/../x",
        "pull_requests/fix",
        "pull_requests/42-a/b",
        "pull_requests/../../etc",
        "42-.hidden",
        "42-a b",
        "/etc/passwd",
    ],
)
def test_bad_channels_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match=r"channel|release date"):
        parse_channel(text)


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        ("stable/debian/12", "metal-os/stable/debian/12/"),
        ("metal-os/20261125/firewall/3.0-ubuntu", "metal-os/20261125/firewall/3.0-ubuntu/"),
        ("pull_requests/42-x/ubuntu/24.04/", "metal-os/pull_requests/42-x/ubuntu/24.04/"),
    ],
)
def test_image_paths(text: str, prefix: str) -> None:
    assert parse_image_path(text).prefix == prefix


@pytest.mark.parametrize(
    "text",
    [
        "stable/debian",
        "stable/../debian/12",
        "stable/debian/12/x",
        "stable/Debian/12",
        "stable/debian/v12",
        "stable/debian/..",
        "/stable/debian/.hidden",
    ],
)
def test_bad_image_paths(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_image_path(text)


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "metal-os/../../etc/passwd",
        "/etc/passwd",
        "metal-os//x",
        "metal-os/./x",
        "metal-os/.tmp",
        "a\\b",
        "a\x00b",
        "",
    ],
)
def test_escaping_keys_are_refused(key: str) -> None:
    with pytest.raises(ConfigError, match="refused"):
        check_key(key)


def test_ref_from_key_round_trip() -> None:
    ref = parse_image_path("pull_requests/42-x/debian/12")
    assert ref_from_key(ref.key("img.tar.lz4")) == (ref, "img.tar.lz4")
    assert ref_from_key("metal-os/stable/debian/12/sub/img.tar.lz4") is None
    assert ref_from_key("other/stable/debian/12/img.tar.lz4") is None
    assert ref_from_key("metal-os/master/debian/12/img.tar.lz4") is None


@pytest.mark.parametrize(
    ("os_name", "version", "image_id", "name"),
    [
        ("debian", "12", "debian-12.0.20261125", "Debian 12 20261125"),
        ("ubuntu", "24.04", "ubuntu-24.04.20261125", "Ubuntu 24.04 20261125"),
        ("firewall", "3.0-ubuntu", "firewall-ubuntu-3.0.20261125", "Firewall Ubuntu 3.0 20261125"),
        ("debian-nvidia", "12", "debian-nvidia-12.0.20261125", "Debian Nvidia 12 20261125"),
        ("almalinux", "9", "almalinux-9.0.20261125", "Almalinux 9 20261125"),
    ],
)
def test_api_identity(os_name: str, version: str, image_id: str, name: str) -> None:
    identity = api_identity(os_name, version, "20261125")
    assert identity.id == image_id
    # metal-api splits on the last dash: the rest must be major.minor.patch
    os_part, semver = identity.id.rsplit("-", 1)
    assert os_part == identity.os and len(semver.split(".")) == 3
    assert display_name(identity, version, "20261125") == name


def test_api_identity_refuses_bad_dates() -> None:
    with pytest.raises(ConfigError, match="release date"):
        api_identity("debian", "12", "2026-11-25")
