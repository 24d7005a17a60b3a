"""The installer's RHEL path (AlmaLinux 9, CentOS 7) on a RHEL-shaped tree with the fake runner.

What differs from Debian: wheel instead of sudo, root gets the password, /etc/chrony.conf
instead of timesyncd, grub2-mkconfig, /etc/mdadm.conf and a dracut initramfs for RAID root,
initramfs-<v>.img in boot-info.yaml.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from installer_fakes import FakeRunner, install_fixture, write

from metal_images.installer import rhel
from metal_images.installer.errors import StepFailed
from metal_images.installer.steps import install
from metal_images.installer.target import Target

KERNEL = "5.14.0-427.13.1.el9_4.x86_64"
ROOT_UUID = "543eb7f8-98d4-d986-e669-824dbebe69e5"
BLKID_RAID = (
    f'/dev/md127: UUID="{ROOT_UUID}" TYPE="ext4"\n'
    '/dev/sda1: UUID="C236-297F" TYPE="vfat" PARTLABEL="efi" PARTUUID="1"\n'
    '/dev/sdb1: UUID="C236-2980" TYPE="vfat" PARTLABEL="efi" PARTUUID="2"\n'
)
MDADM_SCAN = f"ARRAY /dev/md/root metadata=1.2 UUID={ROOT_UUID.replace('-', ':')} name=any:root\n"
MDADM_DETAIL = "MD_LEVEL=raid1\nMD_UUID=543eb7f8:98d4d986:e669824d:bebe69e5\n"


def make_rhel_tree(root: Path, os_id: str) -> None:
    """The parts of an AlmaLinux/CentOS image the installer reads (no sudo group, no /etc/mdadm/)."""
    write(root, "/etc/os-release", f'NAME="{os_id}"\nID="{os_id}"\nID_LIKE="rhel centos fedora"\n')
    write(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nfrr:x:992:988::/var/run/frr:/sbin/nologin\n")
    write(root, "/etc/group", "root:x:0:\nwheel:x:10:\nfrr:x:988:\nfrrvty:x:987:frr\n")
    write(root, "/etc/frr/daemons", "zebra=yes\nbgpd=yes\n", 0o640)
    write(root, "/etc/hosts", "127.0.0.1 localhost\n", 0o644)
    write(root, "/etc/chrony.conf", "pool 2.almalinux.pool.ntp.org iburst\n")
    write(root, "/etc/machine-id", "7b9f54e12f3b4f06a34c9d0f4b0e68c2\n", 0o444)
    (root / "var/tmp").mkdir(parents=True)
    for name in (f"System.map-{KERNEL}", f"vmlinuz-{KERNEL}", f"initramfs-{KERNEL}.img"):
        write(root, f"/boot/{name}", "fake\n")


def run_install(runner: FakeRunner, os_id: str, *, raid: bool = False, ci: bool = False,
                extra: str = "ntp_servers: [10.0.0.123, ntp.example.internal]\n") -> Path:
    root = runner.root
    make_rhel_tree(root, os_id)
    runner.tools -= {"grub-install", "update-grub", "update-initramfs"}
    runner.tools |= {"grub2-mkconfig", "grub2-install", "dracut"}
    if raid:
        extra += "raidenabled: true\n"
        runner.handlers["blkid"] = lambda argv, stdin: (0, BLKID_RAID)
        runner.handlers["mdadm"] = lambda argv, stdin: (0, MDADM_SCAN if "--scan" in argv else MDADM_DETAIL)
    install_fixture(root, "install-machine.yaml", extra=extra)
    env = {"INSTALL_FROM_CI": "true"} if ci else {}
    runner.base_env = dict(env)
    install(Target(root), runner, env, lambda message: None)
    return root


def test_almalinux_machine(fake_runner: FakeRunner) -> None:
    root = run_install(fake_runner, "almalinux")
    lines = fake_runner.lines()
    assert "useradd --create-home --uid 1000 --gid wheel --shell /bin/bash metal" in lines
    assert "chpasswd  <<< 'root:test\\n'" in lines  # rescue mode needs root's password
    assert "grub2-mkconfig -o /boot/efi/EFI/almalinux/grub.cfg" in lines
    assert not [line for line in lines if line.split()[0] in ("grub-install", "update-grub", "dracut",
                                                             "update-initramfs", "dpkg-reconfigure")]
    chrony = (root / "etc/chrony.conf").read_text()
    assert "server 10.0.0.123 iburst\nserver ntp.example.internal iburst\n" in chrony
    assert "pool " not in chrony  # the image's default pool is replaced
    assert "driftfile /var/lib/chrony/drift\n" in chrony and "makestep 1.0 3\n" in chrony
    assert not (root / "etc/systemd/timesyncd.conf.d").exists()
    grub = (root / "etc/default/grub").read_text()
    assert "GRUB_DISTRIBUTOR=almalinux\n" in grub
    assert f"GRUB_DEVICE=UUID={ROOT_UUID}\nGRUB_ENABLE_BLSCFG=false\n" in grub
    assert 'GRUB_SERIAL_COMMAND="serial --speed=115200 --unit=1 --word=8"\n' in grub
    boot_info = (root / "etc/metal/boot-info.yaml").read_text()
    assert f"initrd: /boot/initramfs-{KERNEL}.img\n" in boot_info
    assert f"kernel: /boot/vmlinuz-{KERNEL}\n" in boot_info
    assert "bootloader_id: almalinux\n" in boot_info
    assert (root / "etc/machine-id").read_text() == ""


def test_almalinux_raid_root_gets_a_dracut_initramfs(fake_runner: FakeRunner) -> None:
    root = run_install(fake_runner, "almalinux", raid=True)
    lines = fake_runner.lines()
    assert (root / "etc/mdadm.conf").read_text() == MDADM_SCAN + "MAILADDR root\n"
    modules = f"/lib/modules/{KERNEL}"
    dracut = (f"dracut --mdadmconf --kver {KERNEL} --kmoddir {modules} --include {modules} {modules} "
              "--fstab --add=dm mdraid --add-drivers=raid0 raid1 --hostonly --force")
    assert dracut in lines
    # the initramfs is rebuilt after mdadm.conf exists, and before the boot entries
    assert lines.index("mdadm --examine --scan") < lines.index(dracut)
    entries = [line for line in lines if line.startswith("efibootmgr")]
    assert entries == [
        "efibootmgr -c -d /dev/sda -p 1 -l \\EFI\\almalinux\\shimx64.efi -L almalinux",
        "efibootmgr -c -d /dev/sdb -p 1 -l \\EFI\\almalinux\\shimx64.efi -L almalinux",
    ]
    assert lines.index(dracut) < lines.index(entries[0])
    cmdline = (root / "etc/metal/boot-info.yaml").read_text()
    assert "rd.md.uuid=543eb7f8:98d4d986:e669824d:bebe69e5" in cmdline


def test_centos_uses_grub2_install_and_its_own_config_path(fake_runner: FakeRunner) -> None:
    run_install(fake_runner, "centos")
    lines = fake_runner.lines()
    assert "grub2-mkconfig -o /boot/grub2/grub.cfg" in lines
    assert any(line.startswith("grub2-install --target=x86_64-efi") for line in lines)
    assert "chpasswd  <<< 'root:test\\n'" in lines


def test_ci_install_skips_boot_loader_but_keeps_dracut(fake_runner: FakeRunner) -> None:
    run_install(fake_runner, "almalinux", raid=True, ci=True)
    lines = fake_runner.lines()
    assert any(line.startswith("dracut --mdadmconf") for line in lines)
    assert not [line for line in lines if line.startswith(("efibootmgr", "grub2-"))]


@pytest.mark.parametrize("server", ["pool.ntp.org\nallow all", "a b", "#x"])
def test_an_ntp_server_cannot_add_chrony_directives(fake_runner: FakeRunner, server: str) -> None:
    extra = "ntp_servers:\n  - " + repr(server).replace("'", '"') + "\n"
    with pytest.raises(StepFailed) as failure:
        run_install(fake_runner, "almalinux", extra=extra)
    assert "ntp_servers" in str(failure.value) and "\n" not in str(failure.value).strip()
    assert not (fake_runner.root / "etc/chrony.conf").read_text().count("allow")


def test_chrony_conf_lists_every_server_first() -> None:
    text = rhel.chrony_conf(["10.0.0.1", "time.internal"])
    assert text.splitlines()[1:3] == ["server 10.0.0.1 iburst", "server time.internal iburst"]


def test_without_ntp_servers_the_image_chrony_conf_stays(fake_runner: FakeRunner) -> None:
    root = run_install(fake_runner, "almalinux", extra="")
    assert (root / "etc/chrony.conf").read_text() == "pool 2.almalinux.pool.ntp.org iburst\n"


def test_a_rhel_firewall_is_refused_in_one_line(fake_runner: FakeRunner) -> None:
    make_rhel_tree(fake_runner.root, "almalinux")
    install_fixture(fake_runner.root, "install-firewall.yaml")
    with pytest.raises(StepFailed) as failure:
        install(Target(fake_runner.root), fake_runner, {}, lambda message: None)
    assert str(failure.value) == ("step 'ntp' failed: almalinux as a firewall is not supported "
                                  "(role firewall in install.yaml)")
