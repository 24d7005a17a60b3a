"""`release --notes FILE`: upstream's downloads table, written for the release notes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.store_sample import make_artifact_set

CLI = str(Path(sys.executable).with_name("metal-images"))


def release(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "METAL_IMAGES_BASE_URL"}
    return subprocess.run([CLI, "release", "--store", str(store), "--date", "20261125", *args],
                          capture_output=True, text=True, timeout=120, env=env, check=False)


def _store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    make_artifact_set(store / "metal-os/stable/ubuntu/22.04", content=b"u")
    make_artifact_set(store / "metal-os/stable/debian/12", content=b"d")
    make_artifact_set(store / "metal-os/stable/firewall/3.0-ubuntu", content=b"f")
    return store


def test_notes_hold_upstreams_downloads_table(tmp_path: Path) -> None:
    store = _store(tmp_path)
    notes = tmp_path / "notes" / "downloads.md"
    result = release(store, "--base-url", "https://images.example/", "--notes", str(notes))
    assert result.returncode == 0, result.stderr
    base = "https://images.example/metal-os/20261125"
    assert notes.read_text().splitlines() == [
        "## Downloads",
        "",
        "| IMAGE | URL | CHECKSUM | PACKAGES |",
        "|---|---|---|---|",
        *(f"| metal-os/20261125/{image} | [img.tar.lz4]({base}/{image}/img.tar.lz4) | "
          f"[img.tar.lz4.md5]({base}/{image}/img.tar.lz4.md5) | [packages.txt]({base}/{image}/packages.txt) |"
          for image in ("debian/12", "firewall/3.0-ubuntu", "ubuntu/22.04")),  # sorted by URL
    ]
    assert result.stdout == notes.read_text()  # the same table on stdout
    assert f"written to {notes}" in result.stderr
    # every linked file exists in the release
    assert (store / "metal-os/20261125/debian/12/img.tar.lz4.md5").read_bytes() == \
        (store / "metal-os/stable/debian/12/img.tar.lz4.md5").read_bytes()


def test_dry_run_writes_no_notes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    notes = tmp_path / "downloads.md"
    result = release(store, "--base-url", "https://images.example", "--notes", str(notes), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "| IMAGE | URL | CHECKSUM | PACKAGES |" in result.stdout
    assert not notes.exists() and not (store / "metal-os/20261125").exists()


def test_a_base_url_that_breaks_markdown_is_refused_before_anything_is_copied(tmp_path: Path) -> None:
    store = _store(tmp_path)
    notes = tmp_path / "downloads.md"
    for bad in ("https://evil.example/x)|[y](javascript:alert(1)", "https://a b/", "file:///etc/"):
        result = release(store, "--base-url", bad, "--notes", str(notes))
        assert result.returncode != 0
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "base URL" in errors[0], result.stderr
        assert not notes.exists() and not (store / "metal-os/20261125").exists()
