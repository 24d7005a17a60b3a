"""Results on stdout, logs and progress on stderr: each verb run as a real CLI process.

`metal-images list | grep debian` must find the row; a log line must never land in a pipe.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from metal_images.checks.runner import CheckResult
from metal_images.proof import harness
from tests.support.store_sample import make_artifact_set

CLI = str(Path(sys.executable).with_name("metal-images"))
PACKAGES_OLD = {"bash": "5.2.15-2", "linux-image-amd64": "6.1.76-1", "openssl": "3.0.11-1"}
PACKAGES_NEW = {"bash": "5.2.15-2+b2", "linux-image-amd64": "6.1.90-1", "curl": "7.88.1-10"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    make_artifact_set(root / "metal-os/stable/debian/12", content=b"new", packages=PACKAGES_NEW)
    make_artifact_set(root / "metal-os/20261101/debian/12", content=b"old", packages=PACKAGES_OLD)
    return root


def test_list_table_on_stdout() -> None:
    result = run("list")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "debian" in line]
    assert rows and "machine" in rows[0]  # one greppable line per image
    assert "debian" not in result.stderr
    as_json = run("list", "--json")
    assert {row["family"] for row in json.loads(as_json.stdout)} >= {"debian", "ubuntu", "firewall"}


def test_check_report_on_stdout(tmp_path: Path) -> None:
    image = make_artifact_set(tmp_path / "set") / "img.tar.lz4"
    result = run("check", str(image), "--role", "machine")
    assert result.returncode == 1  # a two-file tree is not a metal-stack image
    assert "passed" in result.stdout and "failed" in result.stdout
    assert "failed," not in result.stderr
    as_json = json.loads(run("check", str(image), "--json").stdout)
    assert as_json["ok"] is False


def test_store_ls_table_on_stdout(store: Path) -> None:
    result = run("store", "ls", "--store", str(store))
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "debian" in line]
    assert len(rows) == 2 and any("stable" in r for r in rows) and any("20261101" in r for r in rows)
    assert "debian" not in result.stderr
    assert len(json.loads(run("store", "ls", "--store", str(store), "--json").stdout)) == 2


def test_store_diff_on_stdout(store: Path) -> None:
    result = run("store", "diff", "20261101/debian/12", "stable/debian/12", "--store", str(store))
    assert result.returncode == 0, result.stderr
    assert "curl" in result.stdout and "openssl" in result.stdout and "6.1.90-1" in result.stdout
    assert result.stderr == ""
    data = json.loads(run("store", "diff", "20261101/debian/12", "stable/debian/12", "--store", str(store),
                          "--json").stdout)
    assert data["added"] == {"curl": "7.88.1-10"} or "curl" in data["added"]


def test_cache_sync_plan_on_stdout(store: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    url = "http://images.invalid/metal-os/20261101/debian/12/img.tar.lz4"
    entities = [{"id": "debian-12.0.20261101", "url": url, "features": ["machine"],
                 "classification": "supported"}]
    (tmp_path / "images.json").write_text(json.dumps(entities))
    result = run("cache-sync", "plan", "--store-url", str(store), "--image-list",
                 str(tmp_path / "images.json"), "--cache-root-path", str(cache),
                 "--disable-kernel-cache", "--disable-boot-image-cache")
    assert result.returncode == 0, result.stderr
    assert "debian-12.0.20261101" in result.stdout and "download" in result.stdout
    assert "total size after sync" in result.stdout
    assert "debian-12.0.20261101" not in result.stderr


def test_test_verb_errors_on_stderr_only(tmp_path: Path) -> None:
    missing = tmp_path / "missing.img.tar.lz4"
    result = run("test", str(missing), "--role", "machine", "--out", str(tmp_path / "o"))
    assert result.returncode != 0
    assert result.stdout == ""
    assert "error:" in result.stderr


def test_test_summary_goes_to_stdout(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """The summary the `test` verb prints after the checks (the VM run itself is in
    tests/integration/test_vm_images.py)."""
    report = harness.TestReport(tmp_path)
    report.results = [CheckResult("test_hostname", "passed", 0.1, ""),
                      CheckResult("test_sysctl[kernel.printk]", "failed", 0.0, "assert '4' == '2'")]
    report.phases = {"checks": 7.5}
    harness.print_summary(report)
    captured = capfd.readouterr()
    assert "test_hostname" in captured.out and "test_sysctl[kernel.printk]" in captured.out
    assert captured.err == ""
