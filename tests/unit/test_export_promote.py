"""`export --from-candidate`: `make debian` promotes the tested candidate's files instead of
exporting a second time (real CLI runs on a tiny tree)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metal_images.artifact import registry


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "metal_images.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120, check=False)


@pytest.fixture()
def tiny(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "catalog/tiny"
    folder.mkdir(parents=True)
    (folder / "image.yaml").write_text('name: tiny\nversion: "1.2"\ndistribution: debian\nsuite: bookworm\n')
    rootfs = tmp_path / "build/tiny/rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc/os-release").write_text("ID=debian\n")
    (rootfs / "etc/motd").write_text("hello\n")
    state = {"family": "tiny", "name": "tiny", "version": "1.2", "parent": None, "args": {}, "tools": {},
             "built_at": "2026-11-30T10:00:00+00:00",
             "stages": {"bootstrap": "a" * 64, "customize": "b" * 64}}
    (tmp_path / "build/tiny/build-state.json").write_text(json.dumps(state))
    env = {"METAL_IMAGES_CATALOG": str(tmp_path / "catalog"), "METAL_IMAGES_OUTPUT": str(tmp_path / "images"),
           "METAL_IMAGES_WORKDIR": str(tmp_path / "build")}
    candidate = run_cli("export", "tiny", "--output", str(tmp_path / "candidate"), env=env)
    assert candidate.returncode == 0, candidate.stderr
    return env


def _dirs(env: dict[str, str]) -> tuple[Path, Path]:
    root = Path(env["METAL_IMAGES_WORKDIR"]).parent
    return root / "candidate/stable/tiny/1.2", Path(env["METAL_IMAGES_OUTPUT"]) / "stable/tiny/1.2"


def test_the_tested_files_are_promoted_not_exported_again(tiny: dict[str, str]) -> None:
    candidate, target = _dirs(tiny)
    result = run_cli("export", "tiny", "--from-candidate", str(candidate.parents[2]), env=tiny)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(target / registry.IMAGE)
    assert "promote" in result.stderr and "write img.tar.lz4" not in result.stderr
    assert sorted(p.name for p in target.iterdir()) == sorted(registry.publish_order())
    for name in registry.publish_order():
        assert (target / name).read_bytes() == (candidate / name).read_bytes()
    assert os.stat(target / registry.IMAGE).st_ino == os.stat(candidate / registry.IMAGE).st_ino  # linked
    assert [p.name for p in target.parent.iterdir()] == ["1.2"]  # no temp directory left


def test_a_candidate_of_another_build_is_refused(tiny: dict[str, str]) -> None:
    candidate, target = _dirs(tiny)
    state_file = Path(tiny["METAL_IMAGES_WORKDIR"]) / "tiny/build-state.json"
    state = json.loads(state_file.read_text())
    state["stages"]["customize"] = "c" * 64  # rebuilt after the candidate was tested
    state_file.write_text(json.dumps(state))
    result = run_cli("export", "tiny", "--from-candidate", str(candidate.parents[2]), env=tiny)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "another build" in errors[0], result.stderr
    assert not target.parent.exists() or not any(target.parent.iterdir())


def test_a_changed_candidate_is_refused(tiny: dict[str, str]) -> None:
    candidate, target = _dirs(tiny)
    with (candidate / registry.IMAGE).open("r+b") as handle:
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 1]))
    result = run_cli("export", "tiny", "--from-candidate", str(candidate.parents[2]), env=tiny)
    assert result.returncode != 0 and "does not match its .sha256" in result.stderr
    assert not (target / registry.IMAGE).exists()


def test_a_missing_or_incomplete_candidate_is_one_clear_error(tiny: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("export", "tiny", "--from-candidate", str(tmp_path / "nowhere"), env=tiny)
    assert result.returncode != 0 and "no such directory" in result.stderr
    assert "Traceback" not in result.stderr
    candidate, _ = _dirs(tiny)
    (candidate / registry.MD5).unlink()
    result = run_cli("export", "tiny", "--from-candidate", str(candidate.parents[2]), env=tiny)
    assert result.returncode != 0 and "incomplete, img.tar.lz4.md5 missing" in result.stderr
