"""The installer's own code runs on Python 3.9 (the oldest interpreter an image may have).

Needs a Python 3.9 with PyYAML: $INSTALLER_PYTHON39, else the first of a few usual
places. Without one the test is skipped (and says so); the AST check in
test_installer_isolation.py still guards the syntax.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import metal_images.installer as installer_package

FIXTURES = Path(__file__).parent / "fixtures"
CANDIDATES = [os.environ.get("INSTALLER_PYTHON39", ""), "/var/tmp/installer/py39/bin/python", "python3.9"]

SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
assert sys.version_info[:2] == (3, 9), sys.version
from installer.config import parse
from installer.network import frr, networkd, nftables
from installer.network.plan import plan
from installer.userdata import spec3
out = {}
for name in ("install-machine.yaml", "install-firewall.yaml"):
    config = parse(open(sys.argv[2] + "/" + name).read())
    net = plan(config)
    out[name] = [frr.render(net), sorted(networkd.files(net)), nftables.render(config, net)]
files = [{"path": "/a", "contents": {"source": "data:,"}}]
spec3(json.dumps({"ignition": {"version": "2.2.0"}, "storage": {"files": files}}))
print(json.dumps(out, sort_keys=True))
"""


def python39() -> str | None:
    for candidate in CANDIDATES:
        path = shutil.which(candidate) if candidate else None
        if path is None:
            continue
        probe = subprocess.run(
            [path, "-c", "import sys, yaml; assert sys.version_info[:2] == (3, 9)"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return path
    return None


def test_renders_the_same_on_python_3_9(tmp_path: Path) -> None:
    interpreter = python39()
    if interpreter is None:
        pytest.skip("no Python 3.9 with PyYAML (set INSTALLER_PYTHON39)")
    package = Path(installer_package.__file__).parent
    shutil.copytree(package, tmp_path / "installer", ignore=shutil.ignore_patterns("__pycache__"))
    old = subprocess.run(
        [interpreter, "-I", "-c", SCRIPT, str(tmp_path), str(FIXTURES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert old.returncode == 0, old.stderr
    current = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            SCRIPT.replace("(3, 9)", "sys.version_info[:2]"),
            str(tmp_path),
            str(FIXTURES),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert current.returncode == 0, current.stderr
    assert json.loads(old.stdout) == json.loads(current.stdout)
