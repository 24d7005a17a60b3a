"""/install.sh in the built firewall tree (Ubuntu 22.04 + the firewall's packages), in a
chroot: the rules it writes are checked by the image's own nft, as in a real install.

The tree (the `firewall_rootfs` session fixture: a real build, minutes cold; or an
already built one named by METAL_IMAGES_TEST_FIREWALL_TREE) is never modified: the test
works on an overlay that is removed afterwards. Besides the install
itself, the image's nft checks the ruleset of every golden case of ours
(tests/unit/installer/golden_firewall/nftables/) and refuses a broken one, so the
renderer's output is known to parse with the nft the firewall ships, not only with the
host's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from metal_images.installer_bundle import write_install_sh
from tests.integration.test_installer_chroot import Run, install, prepare, run_in, tree  # noqa: F401

pytestmark = [
    pytest.mark.slow,
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chroot, mounts)"),
]

VM_FIXTURES = Path(__file__).parents[2] / "src/metal_images/proof/fixtures"
NFT_GOLDEN = Path(__file__).parents[1] / "unit/installer/golden_firewall/nftables"


# an already built firewall tree (e.g. another checkout's build/firewall/rootfs) instead of
# building one; it is only read (the overlay takes every write)
TREE_ENV = "METAL_IMAGES_TEST_FIREWALL_TREE"


@pytest.fixture(scope="module")
def pristine_tree(request: pytest.FixtureRequest) -> Path:
    """The built firewall tree; `tree` (test_installer_chroot) lays the overlay on it."""
    given = os.environ.get(TREE_ENV)
    if given:
        if not (Path(given) / "usr/sbin/nft").exists():
            pytest.fail(f"{TREE_ENV}={given} is no firewall tree (no usr/sbin/nft)")
        return Path(given)
    return Path(request.getfixturevalue("firewall_rootfs"))


@pytest.fixture(scope="module")
def installed(tree: Path) -> tuple[Path, Run]:  # noqa: F811
    write_install_sh(tree)
    prepare(tree, (VM_FIXTURES / "install-firewall.yaml").read_text(),
            (VM_FIXTURES / "userdata-firewall-ignition.json").read_text())
    return tree, install(tree)


def test_install_succeeds_with_the_images_nft(installed: tuple[Path, Run]) -> None:
    root, run = installed
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert "$ nft --check --file /etc/metal/networker/rules" in run.stdout, "the image's nft did not run"
    assert "not validated" not in run.stdout
    rules = (root / "etc/nftables/rules").read_text()
    assert "type filter hook input priority 0; policy drop;" in rules
    assert not (root / "etc/metal/networker/rules").exists()


def test_services_enabled_where_the_image_has_their_program(installed: tuple[Path, Run]) -> None:
    root, _ = installed
    wants = root / "etc/systemd/system/multi-user.target.wants"
    for unit in ("node-exporter.service", "suricata-update.service", "nftables-exporter.service"):
        assert (wants / unit).is_symlink(), unit
    for unit, program in (("firewall-controller.service", "usr/local/bin/firewall-controller"),
                          ("droptailer.service", "usr/local/bin/droptailer-client"),
                          ("nftables-exporter.service", "usr/bin/nftables-exporter")):
        dropin = root / f"etc/systemd/system/{unit}.d/10-needs-program.conf"
        # a build without the downloads gets the skip drop-in, one with them does not
        assert dropin.exists() != (root / program).exists(), unit


@pytest.mark.parametrize("case", sorted(p.stem for p in NFT_GOLDEN.glob("*.nft")))
def test_the_images_nft_accepts_every_golden_case(installed: tuple[Path, Run], case: str) -> None:
    root, _ = installed
    (root / "var/tmp/rules").write_text((NFT_GOLDEN / f"{case}.nft").read_text())
    check = run_in(root, ["nft", "--check", "--file", "/var/tmp/rules"])
    assert check.returncode == 0, check.stderr


def test_the_images_nft_refuses_a_broken_ruleset(installed: tuple[Path, Run]) -> None:
    root, _ = installed
    broken = (NFT_GOLDEN / "standard.nft").read_text().replace("policy drop;", "policy maybe;", 1)
    (root / "var/tmp/rules").write_text(broken)
    check = run_in(root, ["nft", "--check", "--file", "/var/tmp/rules"])
    assert check.returncode != 0 and "Error" in check.stderr
