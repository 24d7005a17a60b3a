"""write_install_sh: an executable, deterministic zipapp of the installer."""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from metal_images.installer_bundle import (
    INSTALLER_PACKAGE,
    INTERPRETER,
    installer_source_files,
    write_install_sh,
)


def test_install_sh_is_an_executable_zipapp(tmp_path: Path) -> None:
    target = write_install_sh(tmp_path)
    assert target == tmp_path / "install.sh"
    assert target.stat().st_mode & 0o777 == 0o755
    assert target.read_bytes().startswith(f"#!{INTERPRETER}\n".encode())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["install.sh"]
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert "__main__.py" in names and "installer/build_info.json" in names
        package = INSTALLER_PACKAGE
        expected = {"installer/" + p.relative_to(package).as_posix() for p in installer_source_files()}
        assert len(expected) > 10
        assert {n for n in names if n.startswith("installer/") and n.endswith(".py")} == expected
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        info = json.loads(archive.read("installer/build_info.json"))
        assert set(info) == {"version", "sha", "revision", "date"}


def test_install_sh_is_deterministic(tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        digests.append(hashlib.sha256(write_install_sh(tmp_path / name).read_bytes()).hexdigest())
    assert digests[0] == digests[1]


@pytest.mark.skipif(not Path(INTERPRETER).exists(), reason=f"{INTERPRETER} missing")
def test_install_sh_runs_and_reads_its_build_info(tmp_path: Path) -> None:
    target = write_install_sh(tmp_path)
    result = subprocess.run([str(target), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "INSTALL_FROM_CI" in result.stdout
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); from installer.basics import build_info; "
        "print(build_info()['sha'])"
    )
    result = subprocess.run(
        [INTERPRETER, "-I", "-c", probe, str(target)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 12
