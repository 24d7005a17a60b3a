"""frr.conf checked by the vtysh of the FRR each image really ships (issue 12.7).

For every built tree (Debian 12: FRR 8.4, Ubuntu 22.04: FRR 8.1, the firewall on
Ubuntu) the installer's renderer is run for the FRR release read from the tree's dpkg
status, exactly as the installer does, and the result goes through the tree's own
`vtysh --dryrun --inputfile` in a chroot: it must exit 0 and print no `% ` line. The
same tree must reject a config meant for another release (the check can fail). The
tree is never modified: the files live in a temporary directory bind-mounted into /tmp.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from metal_images.chroot import chroot_argv, chroot_mounts, mount
from metal_images.installer.config import parse
from metal_images.installer.network import frr
from metal_images.installer.network.plan import plan

CASES = Path(__file__).parents[1] / "unit/installer/network_golden"
ROLE_CASES = {
    "machine": ["machine", "machine-dualstack"],
    "firewall": sorted(p.name for p in CASES.iterdir() if p.name.startswith("firewall")),
}
# which role each built image is installed as
FAMILIES = {"debian": "machine", "ubuntu": "machine", "firewall": "firewall"}

pytestmark = [
    pytest.mark.root,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chroot, bind mounts)"),
]


def _dryrun_in(root: Path, confs: dict[str, str]) -> dict[str, tuple[int, list[str]]]:
    """name -> (exit status, `% ` lines) of the tree's vtysh on each config."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="frr-vtysh-") as scratch:
        for name, text in confs.items():
            (Path(scratch) / name).write_text(text)
        with chroot_mounts(root, tmp=False), mount(scratch, root / "tmp", bind=True):
            for name in confs:
                argv = chroot_argv(root, ["vtysh", "--dryrun", "--inputfile", f"/tmp/{name}"])
                proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
                results[name] = (proc.returncode, frr.rejected_lines(proc.stdout + proc.stderr))
    return results


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_rendered_frr_conf_passes_the_images_vtysh(family: str, request: pytest.FixtureRequest) -> None:
    root = Path(request.getfixturevalue(f"{family}_rootfs"))
    version = frr.installed_version((root / "var/lib/dpkg/status").read_text())
    assert version is not None, f"{family}: no FRR in the image"
    confs = {}
    for case in ROLE_CASES[FAMILIES[family]]:
        config = parse((CASES / case / "install.yaml").read_text())
        confs[f"{case}.conf"] = frr.render(config, plan(config), version)
    # a config for the other side of the FRR 10 line must be refused by this vtysh
    other = (8, 4) if version >= (10,) else (10, 1)
    firewall = parse((CASES / "firewall" / "install.yaml").read_text())
    wrong = frr.render(firewall, plan(firewall), other)
    if version >= (10,):  # an FRR 10 tree: an 8.x config is still valid, so break it on purpose
        wrong = wrong.replace(
            " bgp bestpath as-path multipath-relax\n", " bgp bestpath as-path multipath-relax-x\n"
        )
    confs["wrong.conf"] = wrong
    results = _dryrun_in(root, confs)
    code, complaints = results.pop("wrong.conf")
    assert code != 0 and complaints, f"{family}: vtysh accepted a config for FRR {other}"
    assert results == {name: (0, []) for name in results}, f"{family} (FRR {version})"
