"""install.yaml for the test: fixture + fresh key, root UUID, switch services."""

from __future__ import annotations

import stat
from pathlib import Path

import paramiko
import pytest
import yaml

from metal_images.checks.userdata import expectations
from metal_images.errors import ConfigError
from metal_images.hammer import inputs
from metal_images.hammer.disk import DEFAULT_LAYOUT, Filesystem, fstab_entries
from metal_images.proof.harness import FIXTURES


def test_generated_key_loads_with_paramiko(tmp_path: Path) -> None:
    key = inputs.generate_test_key(tmp_path)
    assert stat.S_IMODE(key.private_key_path.stat().st_mode) == 0o600
    loaded = paramiko.Ed25519Key.from_private_key_file(str(key.private_key_path))
    assert key.public_key.split()[1] == loaded.get_base64()


ROOT_UUID = "0b0e5b9c-32c4-4c9f-9e0c-0d6a3a1f2b77"


def test_machine_fixture_values() -> None:
    config = inputs.test_install_config(FIXTURES / "install-machine.yaml", public_key="ssh-ed25519 AAAA x",
                                        root_uuid=ROOT_UUID, service_address="10.254.0.1")
    assert config["root_uuid"] == ROOT_UUID
    assert config["dns_servers"] == ["10.254.0.1"] and config["ntp_servers"] == ["10.254.0.1"]
    model = inputs.parse_install_config(config)  # the installer's own reading
    assert inputs.nic_macs(model) == ["00:03:00:11:11:01", "00:03:00:11:12:01"]
    assert inputs.router_ip(model) == "10.1.0.1"
    assert inputs.local_asn(model) == 4200003073
    assert inputs.private_vrf_and_ip(model) == ("vrf3981", "10.1.0.1")


def test_firewall_reaches_the_underlay_ip() -> None:
    config = {**inputs.load_install_config(FIXTURES / "install-firewall.yaml"), "root_uuid": ROOT_UUID}
    model = inputs.parse_install_config(config)
    assert inputs.router_ip(model) == "10.1.0.1"
    assert inputs.private_vrf_and_ip(model) == ("vrf3981", "10.0.16.2")


def test_the_host_refuses_what_the_installer_would_refuse() -> None:
    config = {**inputs.load_install_config(FIXTURES / "install-machine.yaml"), "root_uuid": "$(reboot)"}
    with pytest.raises(ConfigError, match="root_uuid"):
        inputs.parse_install_config(config)
    config = {**config, "root_uuid": ROOT_UUID, "hostname": "m\nextra"}
    with pytest.raises(ConfigError, match="hostname: contains a newline"):
        inputs.parse_install_config(config)


def test_bad_fixture_is_one_error(tmp_path: Path) -> None:
    bad = tmp_path / "install.yaml"
    bad.write_text("role: machine\n")
    with pytest.raises(ConfigError, match="has no 'networks'"):
        inputs.load_install_config(bad)


def test_inputs_written_0600(tmp_path: Path) -> None:
    inputs.write_installer_inputs(tmp_path, {"hostname": "m"}, "#cloud-config\n")
    written = tmp_path / "etc/metal/install.yaml"
    assert yaml.safe_load(written.read_text()) == {"hostname": "m"}
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "etc/metal/userdata").stat().st_mode) == 0o600


def test_fstab_as_the_hammer_writes_it() -> None:
    efi, root = DEFAULT_LAYOUT
    entries = fstab_entries([Filesystem(efi, "/dev/loop0p1", "C236-297F"),
                             Filesystem(root, "/dev/loop0p2", "r")])
    assert [e.line() for e in entries] == ["UUID=r / ext4 defaults 0 1",
                                           "UUID=C236-297F /boot/efi vfat defaults 0 2"]


def test_userdata_expectations() -> None:
    files, units = expectations((FIXTURES / "userdata-ignition.json").read_text())
    by_path = {f.path: f for f in files}
    server = by_path["/var/lib/cloud-config-downloader/credentials/server"]
    assert server.contains == "https://my-cluster.local" and server.mode == 0o644
    assert units == ["cloud-config-downloader.service"]
    files, units = expectations((FIXTURES / "userdata-cloud-config.yaml").read_text())
    assert files[0].contains == "https://my-cluster.local" and units == []
