"""`check`'s rules for what differs between releases, on hand-made archives."""

from __future__ import annotations

from pathlib import Path

import pytest

from metal_images.contract.report import check_archive
from tests.support import archive_sample as sample
from tests.support.archive_sample import Member, file

TMPFILES = "etc/tmpfiles.d/frr.conf"


def _frr_state(tmp_path: Path, members: list[Member]) -> tuple[str, str]:
    path = sample.write_archive(tmp_path, members)
    result = next(r for r in check_archive(str(path)).results if r.rule.id == "frr-state-dir")
    return result.status, result.reason


def _with_tmpfiles(line: bytes, name: str = TMPFILES) -> list[Member]:
    members = [m for m in sample.sample_members() if m.info.name != TMPFILES]
    return [*members, file(name, b"# FRR\n" + line)]


def test_the_sample_passes(tmp_path: Path) -> None:
    assert _frr_state(tmp_path, sample.sample_members()) == ("pass", "")


def test_no_mgmtd_no_rule(tmp_path: Path) -> None:
    members = [m for m in sample.sample_members() if m.info.name not in ("usr/lib/frr/mgmtd", TMPFILES)]
    assert _frr_state(tmp_path, members) == ("skip", "this FRR has no mgmtd")


@pytest.mark.parametrize("line", [b"d /var/lib/frr 0750 frr frr -\n", b"z /var/lib/frr/ 0750 frr frr\n"])
def test_other_spellings_pass(tmp_path: Path, line: bytes) -> None:
    assert _frr_state(tmp_path, _with_tmpfiles(line)) == ("pass", "")


@pytest.mark.parametrize("line", [b"", b"d /run/frr 0755 frr frr\n", b"d /var/lib/frr 0755 root root -\n",
                                  b"# d /var/lib/frr 0750 frr frr -\n"])
def test_mgmtd_without_its_state_dir_warns(tmp_path: Path, line: bytes) -> None:
    status, reason = _frr_state(tmp_path, _with_tmpfiles(line))
    assert status == "warn" and "/var/lib/frr" in reason


def test_a_line_outside_tmpfiles_does_not_count(tmp_path: Path) -> None:
    members = [*_with_tmpfiles(b""), file("etc/frr-notes.conf", b"d /var/lib/frr 0750 frr frr -\n")]
    assert _frr_state(tmp_path, members)[0] == "warn"
