"""Store names refuse control characters (issue 14.10): a channel, os, version or prefix
with a newline (or any other control character) is one `error:` line, never a store key.
Python's `$` matches before a trailing newline, which let `debian/12\\n` through."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.store_sample import make_artifact_set

from metal_images.errors import ConfigError
from metal_images.identity import Channel, ImageRef, check_key, check_prefix, parse_api_id

CLI = str(Path(sys.executable).with_name("metal-images"))


def store_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("version", ["12\n", "12\r", "12\t", "12\x1b[2J", "12\u2028"])
def test_publish_of_a_version_folder_with_a_control_character_is_refused(
        tmp_path: Path, version: str) -> None:
    store = tmp_path / "store"
    store.mkdir()
    artifacts = make_artifact_set(tmp_path / "images" / "debian" / version)
    result = subprocess.run([CLI, "publish", str(artifacts), "--store", f"file://{store}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "control character" in errors[0], result.stderr
    assert store_files(store) == []


def test_publish_to_a_channel_with_a_newline_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    artifacts = make_artifact_set(tmp_path / "images" / "debian" / "12")
    result = subprocess.run([CLI, "publish", str(artifacts), "--channel", "stable\n", "--store", f"file://{store}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "error: channel 'stable\\n': refused, it contains the control character '\\n'")
    assert store_files(store) == []


@pytest.mark.parametrize("bad", ["stable\n", "20240101\n", "pull_requests/1-x\n", "pull_requests/1-x\x7f"])
def test_channels(bad: str) -> None:
    with pytest.raises(ConfigError, match="control character"):
        Channel.parse(bad)


@pytest.mark.parametrize("bad", ["stable/debian/12\n", "stable/debian\n/12", "stable/deb\x00ian/12"])
def test_image_paths(bad: str) -> None:
    with pytest.raises(ConfigError, match="control character"):
        ImageRef.parse_path(bad)


def test_keys_prefixes_and_ids() -> None:
    for bad in ("metal-os/stable/debian/12\n/img.tar.lz4", "a/b\x00"):
        with pytest.raises(ConfigError, match="control character"):
            check_key(bad)
    with pytest.raises(ConfigError, match="control character"):
        check_prefix("metal-os\n/")
    with pytest.raises(ConfigError):
        ImageRef.make(Channel.stable(), "debian", "12\n")
    with pytest.raises(ConfigError):
        ImageRef.make(Channel.stable(), "debian\n", "12")
    with pytest.raises(ValueError):
        parse_api_id("debian-12.0.20240101\n")
    # the good forms still pass
    assert ImageRef.parse_path("stable/debian/12").short == "stable/debian/12"
    firewall = ImageRef.make(Channel.stable(), "firewall", "3.0-ubuntu")
    assert firewall.api_identity("20240101").id == "firewall-ubuntu-3.0.20240101"
    assert str(parse_api_id("debian-12.0.20240101")[1]) == "12.0.20240101"
