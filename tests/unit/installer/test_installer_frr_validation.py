"""frr.conf is validated by the vtysh of the FRR the image ships (issue 12.7).

- The installer reads the image's FRR release from dpkg's status file and renders for it.
- An install fails on any `% ` line vtysh prints, also when vtysh exits 0.
- Every frr.conf of our golden cases passes the host's real vtysh (the test switch's FRR,
  Debian 12's 8.4), and a config for a newer FRR is really rejected by it: the check can
  fail. The image's own vtysh is run in tests/integration/test_frr_image_vtysh.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from installer_fakes import FakeRunner, install_fixture, make_tree, write

from metal_images.installer.errors import StepFailed
from metal_images.installer.network import frr
from metal_images.installer.steps import install
from metal_images.installer.target import Target

GOLDEN = Path(__file__).parent / "network_golden"

STATUS = """Package: frr-pythontools
Status: install ok installed
Version: 8.4.4-1.1~deb12u1

Package: frr
Status: {status}
Priority: optional
Version: {version}
Depends: libc6 (>= 2.34),
 libcap2 (>= 1:2.10)
Description: FRRouting suite of internet protocols
 BGP, OSPF, ...

Package: zebra
Status: install ok installed
Version: 9.9
"""


@pytest.mark.parametrize(
    ("version", "status", "expected"),
    [
        ("8.4.4-1.1~deb12u1", "install ok installed", (8, 4, 4)),  # Debian 12
        ("8.1-1ubuntu1.10", "install ok installed", (8, 1)),  # Ubuntu 22.04
        ("10.1.1-0~ubuntu22.04.1", "install ok installed", (10, 1, 1)),  # FRR's own repository
        ("1:9.0.5-0", "install ok installed", (9, 0, 5)),  # an epoch
        ("8.4.4-1.1~deb12u1", "deinstall ok config-files", None),  # removed, config kept
    ],
)
def test_installed_version_from_dpkg_status(version: str, status: str, expected: frr.Version | None) -> None:
    assert frr.installed_version(STATUS.format(version=version, status=status)) == expected


def test_no_frr_package_means_unknown() -> None:
    assert frr.installed_version("Package: bash\nStatus: install ok installed\nVersion: 5.2\n") is None
    assert frr.installed_version("") is None


def _install_firewall(runner: FakeRunner, dpkg_version: str | None) -> str:
    make_tree(runner.root, firewall=True)
    install_fixture(runner.root, "install-firewall.yaml")
    if dpkg_version is not None:
        write(
            runner.root, frr.DPKG_STATUS, STATUS.format(version=dpkg_version, status="install ok installed")
        )
    install(Target(runner.root), runner, {"INSTALL_FROM_CI": "true"}, lambda _m: None)
    return (runner.root / "etc/frr/frr.conf").read_text()


def test_install_renders_for_the_images_frr(fake_runner: FakeRunner) -> None:
    conf = _install_firewall(fake_runner, "10.1.1-0~ubuntu22.04.1")
    assert conf.count(" no bgp enforce-first-as\n") == 2  # both VRFs of the fixture
    vtysh = [c.argv for c in fake_runner.calls if c.argv[0] == "vtysh"]
    assert vtysh == [["vtysh", "--dryrun", "--inputfile", "/etc/metal/networker/frr.conf"]]


def test_a_percent_line_fails_the_install_even_with_exit_status_0(fake_runner: FakeRunner) -> None:
    fake_runner.handlers["vtysh"] = lambda argv, stdin: (0, "line 42: % Unknown command[25]:  bgp bogus\n")
    with pytest.raises(StepFailed) as failure:
        _install_firewall(fake_runner, None)
    assert failure.value.step == "network"
    assert failure.value.cause == (
        "generated /etc/frr/frr.conf is rejected by vtysh: line 42: % Unknown command[25]:  bgp bogus"
    )
    assert not (fake_runner.root / "etc/frr/frr.conf").exists()
    assert not (fake_runner.root / "etc/metal/networker/frr.conf").exists()


def test_rejected_lines_picks_only_complaints() -> None:
    output = "vtysh: reading\nline 3: % Unknown command: x\n% Ambiguous command\nname % of load\n"
    assert frr.rejected_lines(output) == ["line 3: % Unknown command: x", "% Ambiguous command"]


# ------------------------------------------------------------------------------------
# the host's real vtysh (FRR is installed here as the test switch)


def _host_vtysh() -> tuple[int, ...]:
    if shutil.which("vtysh") is None:
        pytest.skip("no vtysh on this host (FRR is the test switch; scripts/bootstrap.sh installs it)")
    out = subprocess.run(["vtysh", "-h"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"Integrated shell for FRR \(version (\d+(?:\.\d+)*)", out)
    if not found:
        pytest.skip(f"cannot tell the host's FRR version from `vtysh -h`: {out[:200]!r}")
    return tuple(int(x) for x in found.group(1).split("."))


def _dryrun(conf: Path) -> tuple[int, list[str]]:
    proc = subprocess.run(
        ["vtysh", "--dryrun", "--inputfile", str(conf)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return proc.returncode, frr.rejected_lines(proc.stdout + proc.stderr)


CONFS = sorted(GOLDEN.glob("*/expected/frr.conf*"))


@pytest.mark.parametrize("conf", CONFS, ids=[f"{c.parts[-3]}/{c.name}" for c in CONFS])
def test_golden_frr_conf_passes_or_fails_the_hosts_vtysh_by_release(conf: Path) -> None:
    version = _host_vtysh()
    code, complaints = _dryrun(conf)
    needs_frr10 = conf.name.endswith("frr-10")
    if needs_frr10 and version < (10,):
        assert code != 0 and complaints, "FRR < 10 must reject `no bgp enforce-first-as` in a VRF"
        assert all("enforce-first-as" in line for line in complaints)
    else:
        assert (code, complaints) == (0, [])


def test_the_hosts_vtysh_reports_a_broken_router_bgp_block(tmp_path: Path) -> None:
    _host_vtysh()
    conf = tmp_path / "frr.conf"
    conf.write_text("router bgp 4294967296\n bgp router-id 10.0.0.1\nexit\n")
    code, complaints = _dryrun(conf)
    assert code != 0
    assert complaints[0].startswith("line 1: % ")
