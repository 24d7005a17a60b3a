"""/install.sh in a real Debian 12 tree, in a chroot, as metal-hammer runs it.

The tree is the development build of Debian 12 (the `debian_rootfs` session fixture once
the builder provides it, else /var/tmp/scratch/debian-rootfs). It is never modified: the
test works on an overlay (or, where overlayfs is unavailable, a copy) that is removed
afterwards. Real tools do the work: useradd/chpasswd, Debian's ignition, cloud-init's
schema validation, FRR's `vtysh --dryrun`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from metal_images.chroot import chroot_argv, chroot_mounts
from metal_images.installer_bundle import write_install_sh

FIXTURES = Path(__file__).parents[1] / "unit/installer/fixtures"
SCRATCH = Path("/var/tmp/scratch/debian-rootfs")
TEST_DNS = "dns_servers: [10.255.0.53]\n"

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chroot, mounts)"),
]


def _scratch_ready() -> bool:
    log = SCRATCH.parent / "build.log"
    return SCRATCH.is_dir() and log.exists() and log.read_text().rstrip().endswith("EXIT 0")


@pytest.fixture(scope="module")
def pristine_tree(request: pytest.FixtureRequest) -> Path:
    try:
        return Path(request.getfixturevalue("debian_rootfs"))
    except pytest.FixtureLookupError:
        pass
    if not _scratch_ready():
        pytest.skip(f"no built Debian 12 tree ({SCRATCH})")
    return SCRATCH


@pytest.fixture(scope="module")
def tree(pristine_tree: Path) -> Iterator[Path]:
    """A writable view of the pristine tree, gone afterwards whatever happens."""
    work = Path(tempfile.mkdtemp(prefix="installer-test-", dir="/var/tmp"))
    merged = work / "merged"
    try:
        for name in ("upper", "work", "merged"):
            (work / name).mkdir()
        options = f"lowerdir={pristine_tree},upperdir={work / 'upper'},workdir={work / 'work'}"
        mounted = subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o", options, str(merged)],
            capture_output=True,
            check=False,
        )
        if mounted.returncode != 0:
            merged.rmdir()
            subprocess.run(["cp", "-a", str(pristine_tree), str(merged)], check=True)
        try:
            yield merged
        finally:
            if mounted.returncode == 0:
                subprocess.run(["umount", str(merged)], check=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_in(root: Path, argv: list[str], env: dict[str, str] | None = None) -> Run:
    with chroot_mounts(root):
        proc = subprocess.run(chroot_argv(root, argv, env), capture_output=True, text=True, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def prepare(root: Path, install_yaml: str, userdata: str | None) -> None:
    metal = root / "etc/metal"
    metal.mkdir(parents=True, exist_ok=True)
    (metal / "install.yaml").write_text(install_yaml)
    (metal / "install.yaml").chmod(0o600)
    (metal / "userdata").unlink(missing_ok=True)
    if userdata is not None:
        (metal / "userdata").write_text(userdata)
        (metal / "userdata").chmod(0o600)


def install(root: Path) -> Run:
    return run_in(root, ["/install.sh"], {"INSTALL_FROM_CI": "true"})


@pytest.fixture(scope="module")
def installed(tree: Path) -> tuple[Path, Run]:
    write_install_sh(tree)
    machine = (FIXTURES / "install-machine.yaml").read_text() + TEST_DNS
    prepare(tree, machine, (FIXTURES / "userdata-ignition.json").read_text())
    return tree, install(tree)


def test_install_succeeds(installed: tuple[Path, Run]) -> None:
    _, run = installed
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert run.stderr == ""
    assert "install.sh: installation finished" in run.stdout


def test_boot_info_names_the_trees_kernel(installed: tuple[Path, Run]) -> None:
    root, _ = installed
    path = root / "etc/metal/boot-info.yaml"
    assert path.stat().st_mode & 0o777 == 0o700
    info = yaml.safe_load(path.read_text())
    assert set(info) == {"kernel", "initrd", "cmdline", "bootloader_id"}
    maps = sorted((root / "boot").glob("System.map-*"))
    version = maps[0].name.removeprefix("System.map-")
    assert info["kernel"] == f"/boot/vmlinuz-{version}" and (root / info["kernel"].lstrip("/")).is_file()
    assert info["initrd"] == f"/boot/initrd.img-{version}" and (root / info["initrd"].lstrip("/")).is_file()
    assert info["bootloader_id"] == "metal-debian"
    assert info["cmdline"].startswith(
        "console=ttyS1,115200n8 root=UUID=543eb7f8-98d4-d986-e669-824dbebe69e5 "
    )
    assert 'GRUB_CMDLINE_LINUX="' + info["cmdline"] + '"' in (root / "etc/default/grub").read_text()


def test_metal_user(installed: tuple[Path, Run]) -> None:
    root, _ = installed
    entry = run_in(root, ["getent", "passwd", "metal"])
    assert entry.returncode == 0
    assert entry.stdout.strip().split(":")[2:] == ["1000", "27", "", "/home/metal", "/bin/bash"]
    groups = run_in(root, ["id", "-nG", "metal"])
    assert "sudo" in groups.stdout.split()
    shadow = next(
        line for line in (root / "etc/shadow").read_text().splitlines() if line.startswith("metal:")
    )
    password_hash = shadow.split(":")[1]
    assert password_hash.startswith("$")
    check = run_in(root, ["python3", "-c", f"import crypt; print(crypt.crypt('test', {password_hash!r}))"])
    assert check.stdout.strip() == password_hash
    keys = root / "home/metal/.ssh/authorized_keys"
    assert keys.read_text().startswith("ssh-ed25519 ")
    assert (keys.stat().st_uid, keys.stat().st_mode & 0o777) == (1000, 0o600)


def test_network_files(installed: tuple[Path, Run]) -> None:
    root, _ = installed
    network = root / "etc/systemd/network"
    assert "PermanentMACAddress=00:03:00:11:11:01" in (network / "10-lan0.link").read_text()
    assert "Name=lan1" in (network / "11-lan1.link").read_text()
    assert "Address=10.1.0.1/32" in (network / "00-lo.network").read_text()
    assert (root / "etc/hostname").read_text() == "machine\n"
    assert "10.1.0.1\tmachine" in (root / "etc/hosts").read_text()
    assert (root / "etc/resolv.conf").read_text() == "nameserver 10.255.0.53\n"
    assert not (root / "etc/resolv.conf").is_symlink()
    assert "bgpd=yes" in (root / "etc/frr/daemons").read_text().splitlines()


def test_vtysh_accepts_the_generated_frr_conf(installed: tuple[Path, Run]) -> None:
    root, _ = installed
    ok = run_in(root, ["vtysh", "--dryrun", "--inputfile", "/etc/frr/frr.conf"])
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # the same check rejects a broken config, so the acceptance above means something
    broken = (root / "etc/frr/frr.conf").read_text().replace(" bgp router-id", " bgp router-idd")
    (root / "tmp-broken-frr.conf").write_text(broken)
    try:
        rejected = run_in(root, ["vtysh", "--dryrun", "--inputfile", "/tmp-broken-frr.conf"])
    finally:
        (root / "tmp-broken-frr.conf").unlink()
    assert rejected.returncode != 0


def test_ignition_userdata_applied(installed: tuple[Path, Run]) -> None:
    root, _ = installed
    server = root / "var/lib/cloud-config-downloader/credentials/server"
    assert server.read_text() == "https://my-cluster.local"
    script = root / "var/lib/cloud-config-downloader/download-cloud-config.sh"
    assert script.stat().st_mode & 0o777 == 0o744
    wanted = root / "etc/systemd/system/multi-user.target.wants/cloud-config-downloader.service"
    assert wanted.is_symlink()
    meta = yaml.safe_load((root / "etc/metal/build-meta.yaml").read_text())
    assert meta["ignitionVersion"].startswith("Ignition ")
    assert (root / "etc/machine-id").read_text() == ""


def test_cloud_config_validated_by_the_images_cloud_init(installed: tuple[Path, Run]) -> None:
    root, _ = installed
    machine = (FIXTURES / "install-machine.yaml").read_text() + TEST_DNS
    prepare(root, machine, (FIXTURES / "userdata-cloud-config.yaml").read_text())
    good = install(root)
    assert good.returncode == 0, good.stdout[-2000:] + good.stderr
    assert "cloud-config is valid" in good.stdout
    prepare(root, machine, "#cloud-config\nwrite_files: 5\n")
    bad = install(root)
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("install.sh: step 'userdata' failed: userdata is not valid cloud-config")


def test_bad_install_yaml_fails_with_one_line(installed: tuple[Path, Run]) -> None:
    root, _ = installed
    broken = (FIXTURES / "install-machine.yaml").read_text().replace("role: machine", "role: router")
    prepare(root, broken, None)
    run = install(root)
    assert run.returncode == 1
    assert run.stderr == (
        "install.sh: step 'install.yaml' failed: install.yaml: role: unknown role 'router' "
        "(expected machine or firewall)\n"
    )


def test_firewall_install_with_real_vtysh_and_nft(installed: tuple[Path, Run]) -> None:
    """The firewall role in the same tree: FRR (EVPN, VRFs) and nftables checked for real."""
    root, _ = installed
    # the Debian tree is no firewall image: give it the chrony@ template unit one would have
    template = root / "lib/systemd/system/chrony@.service"
    template.write_text("[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n")
    prepare(root, (FIXTURES / "install-firewall.yaml").read_text() + TEST_DNS, None)
    run = install(root)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert "$ vtysh --dryrun --inputfile /etc/metal/networker/frr.conf" in run.stdout
    assert "$ nft --check --file /etc/metal/networker/rules" in run.stdout
    rules = (root / "etc/nftables/rules").read_text()
    assert "type filter hook forward priority 0; policy drop;" in rules
    assert (root / "etc/systemd/system/multi-user.target.wants/chrony@vrf104009.service").is_symlink()
    assert (root / "etc/hostname").read_text() == "firewall\n"
    assert "Local=10.1.0.1" in (root / "etc/systemd/network/30-vxlan-3981.netdev").read_text()
    # nft rejects a broken rule set, so the check above means something
    (root / "tmp-broken-rules").write_text(rules.replace("policy drop;", "policy dropp;"))
    try:
        rejected = run_in(root, ["nft", "--check", "--file", "/tmp-broken-rules"])
    finally:
        (root / "tmp-broken-rules").unlink()
    assert rejected.returncode != 0
