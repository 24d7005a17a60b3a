"""CentOS 7's python3 is 3.6, too old for the installer: /install.sh must say so in one line
instead of failing with a SyntaxError deep inside a module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from metal_images.installer_bundle import MAIN, write_install_sh

# runs the zipapp as `python3 install.sh` would, with the interpreter's version faked
RUN_AS = "import runpy, sys; sys.version_info = {version!r}; sys.argv = [sys.argv[1]]; " \
         "runpy.run_path(sys.argv[0], run_name='__main__')"


def test_entry_point_parses_on_python_3_6() -> None:
    ast.parse(MAIN, feature_version=(3, 6))


@pytest.mark.parametrize("version", [(3, 6, 8, "final", 0), (3, 8, 18, "final", 0)])
def test_too_old_python_gets_one_line(tmp_path: Path, version: tuple[object, ...]) -> None:
    install_sh = write_install_sh(tmp_path)
    proc = subprocess.run([sys.executable, "-c", RUN_AS.format(version=version), str(install_sh)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr == (f"install.sh: needs Python 3.9 or newer with PyYAML, "
                           f"this image has {version[0]}.{version[1]}\n")
    assert proc.stdout == ""


def test_current_python_passes_the_guard(tmp_path: Path) -> None:
    install_sh = write_install_sh(tmp_path)
    proc = subprocess.run([sys.executable, str(install_sh), "--help"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0 and "install.yaml" in proc.stdout
