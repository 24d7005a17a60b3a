"""What makes a VM proof pass: every check passed or skipped itself as not applicable;
a failure or an error in a check's setup fails it, and so does a run with no checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from metal_images.checks.runner import CheckResult
from metal_images.proof import harness


def report(tmp_path: Path, *outcomes: str) -> harness.TestReport:
    results = [CheckResult(f"check_{i}", outcome, 0.1, "") for i, outcome in enumerate(outcomes)]
    return harness.TestReport(tmp_path, results=results)


def test_skipped_checks_do_not_fail_the_proof(tmp_path: Path) -> None:
    proof = report(tmp_path, "passed", "skipped")
    assert proof.ok and proof.failed == []


@pytest.mark.parametrize("bad", ["failed", "error"])
def test_a_failed_or_broken_check_fails_the_proof(tmp_path: Path, bad: str) -> None:
    proof = report(tmp_path, "passed", "skipped", bad)
    assert not proof.ok and [r.outcome for r in proof.failed] == [bad]


def test_no_checks_is_no_proof(tmp_path: Path) -> None:
    assert not report(tmp_path).ok


@pytest.mark.parametrize(("outcomes", "kept"), [(("passed",), False), (("passed", "failed"), True)])
def test_the_disk_is_kept_only_to_look_into_a_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       outcomes: tuple[str, ...], kept: bool) -> None:
    disk_image = tmp_path / "disk.raw"
    disk_image.write_bytes(b"\0" * 512)
    harness.discard_disk(tmp_path, report(tmp_path, *outcomes))
    assert disk_image.exists() is kept
    assert (str(disk_image) in capsys.readouterr().err) is kept
