"""The `export` and `check` verbs as a user runs them (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metal_images.artifact import registry
from metal_images.commands.test import resolve_artifact
from tests.support import archive_sample as sample


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "metal_images.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


@pytest.fixture()
def catalog(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "catalog/tiny"
    folder.mkdir(parents=True)
    (folder / "image.yaml").write_text(
        'name: tiny\nversion: "1.2"\ndistribution: debian\nsuite: bookworm\n')
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc/os-release").write_text("ID=debian\n")
    return {"METAL_IMAGES_CATALOG": str(tmp_path / "catalog"),
            "METAL_IMAGES_OUTPUT": str(tmp_path / "images"),
            "METAL_IMAGES_WORKDIR": str(tmp_path / "build"), "SOURCE_DATE_EPOCH": "1700000000",
            "ROOTFS": str(rootfs)}


@pytest.mark.parametrize("channel", ["20240230", "latest", "stable/x", "pull_requests/abc-x"])
def test_bad_channel_is_one_clear_error(catalog: dict[str, str], channel: str) -> None:
    result = run_cli("export", "tiny", "--rootfs", catalog["ROOTFS"], "--channel", channel, env=catalog)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: invalid channel"), result.stderr
    assert "Traceback" not in result.stderr


def test_pull_request_channel(catalog: dict[str, str]) -> None:
    channel = "pull_requests/12-my-branch"
    result = run_cli("export", "tiny", "--rootfs", catalog["ROOTFS"], "--channel", channel, env=catalog)
    assert result.returncode == 0, result.stderr
    assert (Path(catalog["METAL_IMAGES_OUTPUT"]) / channel / "tiny/1.2" / registry.IMAGE).is_file()


def test_export_takes_the_channels_publish_takes(catalog: dict[str, str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # upstream's bare `<pr>-<branch>` is the same channel for export as for publish
    result = run_cli("export", "tiny", "--rootfs", catalog["ROOTFS"], "--channel", "13-x", env=catalog)
    assert result.returncode == 0, result.stderr
    image = Path(catalog["METAL_IMAGES_OUTPUT"]) / "pull_requests/13-x/tiny/1.2" / registry.IMAGE
    assert result.stdout.strip() == str(image)
    for key, value in catalog.items():
        monkeypatch.setenv(key, value)
    # `test tiny` finds that export through the same layout
    assert resolve_artifact("tiny") == (str(image), "tiny", "machine")


def test_export_writes_the_store_layout(catalog: dict[str, str]) -> None:
    result = run_cli("export", "tiny", "--rootfs", catalog["ROOTFS"], "--channel", "20240131", env=catalog)
    assert result.returncode == 0, result.stderr
    target = Path(catalog["METAL_IMAGES_OUTPUT"]) / "20240131/tiny/1.2"
    assert result.stdout.strip() == str(target / registry.IMAGE)
    assert sorted(p.name for p in target.iterdir()) == sorted(registry.publish_order())
    assert "no package database" in result.stderr


def test_export_of_an_unbuilt_image_says_so(catalog: dict[str, str]) -> None:
    result = run_cli("export", "tiny", env=catalog)
    assert result.returncode != 0
    assert "not built" in result.stderr and "Traceback" not in result.stderr


def test_check_exit_codes_and_json(tmp_path: Path) -> None:
    good = sample.write_archive(tmp_path / "good")
    result = run_cli("check", str(good), "--json")
    assert result.returncode == 0, result.stdout
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["summary"]["fail"] == 0
    assert {r["id"] for r in data["results"]} >= {"lz4-frame", "md5-sidecar", "installer", "kernel"}

    bad = sample.write_archive(tmp_path / "bad", [m for m in sample.sample_members()
                                                   if m.info.name != "install-go"])
    result = run_cli("check", str(bad))
    assert result.returncode == 1
    assert "installer" in result.stdout and "fail" in result.stdout


def test_check_of_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    result = run_cli("check", str(tmp_path / "nope.tar.lz4"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
