"""Image identity and layout: channels, image paths, directories, keys that could escape, metal-api ids."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from metal_images.errors import ConfigError
from metal_images.identity import Channel, ImageRef, check_key, check_os, check_version, find_exports


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
    channel = Channel.parse(text)
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
        Channel.parse(text)


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        ("stable/debian/12", "metal-os/stable/debian/12/"),
        ("metal-os/20261125/firewall/3.0-ubuntu", "metal-os/20261125/firewall/3.0-ubuntu/"),
        ("pull_requests/42-x/ubuntu/24.04/", "metal-os/pull_requests/42-x/ubuntu/24.04/"),
    ],
)
def test_image_paths(text: str, prefix: str) -> None:
    assert ImageRef.parse_path(text).prefix == prefix


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
        ImageRef.parse_path(text)


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
    ref = ImageRef.parse_path("pull_requests/42-x/debian/12")
    assert ImageRef.from_key(ref.key("img.tar.lz4")) == (ref, "img.tar.lz4")
    assert ImageRef.from_key("metal-os/stable/debian/12/sub/img.tar.lz4") is None
    assert ImageRef.from_key("other/stable/debian/12/img.tar.lz4") is None
    assert ImageRef.from_key("metal-os/master/debian/12/img.tar.lz4") is None


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
    ref = ImageRef.make(Channel.stable(), os_name, version)
    identity = ref.api_identity("20261125")
    assert identity.id == image_id
    # metal-api splits on the last dash: the rest must be major.minor.patch
    os_part, semver = identity.id.rsplit("-", 1)
    assert os_part == identity.os and len(semver.split(".")) == 3
    assert ref.display_name("20261125") == name


def test_api_identity_refuses_bad_dates() -> None:
    with pytest.raises(ConfigError, match="release date"):
        ImageRef.make(Channel.stable(), "debian", "12").api_identity("2026-11-25")


@pytest.mark.parametrize("text", ["stable\n", "20261125\n", "pull_requests/42-x\n", "42-a\tb", "stable\x00"])
def test_channels_refuse_control_characters(text: str) -> None:
    with pytest.raises(ConfigError, match="control character"):
        Channel.parse(text)


@pytest.mark.parametrize("text", ["stable/debian/12\n", "stable/debian\n/12", "stable/deb\x1bian/12"])
def test_image_paths_refuse_control_characters(text: str) -> None:
    with pytest.raises(ConfigError, match="control character"):
        ImageRef.parse_path(text)


@pytest.mark.parametrize(("check", "value"), [(check_os, "debian\n"), (check_version, "12\n"),
                                              (check_version, "12\r"), (check_key, "metal-os/x\n")])
def test_names_with_a_trailing_newline_are_refused(check: Callable[[str], str], value: str) -> None:
    with pytest.raises(ConfigError, match="refused"):
        check(value)


def test_one_grammar_for_pull_request_numbers() -> None:
    # export once accepted only 1.., publish also 0..: a PR number never starts with 0
    with pytest.raises(ConfigError, match="invalid channel"):
        Channel.parse("pull_requests/042-x")
    assert Channel.parse("42-x") == Channel.parse("pull_requests/42-x")


def test_bad_release_date_names_the_channel() -> None:
    with pytest.raises(ConfigError, match=r"^invalid channel '20240230': 20240230 is not a date"):
        Channel.parse("20240230")


def test_directory_and_key_name_the_same_set() -> None:
    ref = ImageRef.make(Channel.parse("pull_requests/7-x"), "firewall", "3.0-ubuntu")
    assert ref.directory(Path("/out")) == Path("/out/pull_requests/7-x/firewall/3.0-ubuntu")
    assert ref.key("img.tar.lz4") == "metal-os/pull_requests/7-x/firewall/3.0-ubuntu/img.tar.lz4"
    assert ImageRef.parse_path(ref.short) == ref
    with pytest.raises(ConfigError, match="refused"):
        ref.key("../img.tar.lz4")


def test_api_identity_of_a_release_channel_uses_its_date() -> None:
    released = ImageRef.parse_path("20261125/firewall/3.0-ubuntu")
    assert released.api_identity().id == "firewall-ubuntu-3.0.20261125"
    with pytest.raises(ConfigError, match="only a dated release"):
        ImageRef.parse_path("stable/debian/12").api_identity()


def _export(output: Path, relative: str, mtime: int) -> Path:
    image = output / relative / "img.tar.lz4"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"x")
    os.utime(image, (mtime, mtime))
    return image


def test_find_exports_reads_the_layout(tmp_path: Path) -> None:
    _export(tmp_path, "stable/debian/12", 100)
    _export(tmp_path, "pull_requests/42-x/debian/12", 200)
    _export(tmp_path, "20261125/debian/12", 300)
    _export(tmp_path, "42-bare/debian/12", 400)  # upstream's bare folder is no channel of ours
    _export(tmp_path, "latest/debian/12", 500)  # nor is an unknown folder
    _export(tmp_path, "stable/debian/12-rc", 600)  # another version
    (tmp_path / "debian").mkdir()  # a catalog folder beside the channels
    found = find_exports(tmp_path, "debian", "12")
    assert [ref.short for ref in found] == ["20261125/debian/12", "pull_requests/42-x/debian/12",
                                            "stable/debian/12"]
    assert find_exports(tmp_path / "absent", "debian", "12") == []
