"""What metal-hammer writes for the installer: install.yaml, userdata, disk.json.

install.yaml starts from a fixture (a real InstallerConfig shape) and gets the values
only the harness knows: the fresh test SSH key, the real root UUID, the switch's DNS and
NTP address. What is written is then read back through the installer's own model
(installer/config.py), so the host side sees the same typed config, and the same errors,
as the installer in the image; the VM's MACs, address and ASN come from that model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from metal_images.errors import ConfigError
from metal_images.installer import config as installer_config
from metal_images.installer.config import InstallConfig
from metal_images.installer.errors import InstallError

from .disk import Filesystem


@dataclass(frozen=True)
class TestKey:
    private_key_path: Path
    public_key: str


def generate_test_key(directory: Path) -> TestKey:
    """A fresh ed25519 key pair in OpenSSH format (private key file 0600)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "id_ed25519"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    public_line = f"{public} metal-images-test"
    (directory / "id_ed25519.pub").write_text(public_line + "\n")
    return TestKey(path, public_line)


def load_install_config(fixture: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(fixture.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read install.yaml fixture {fixture}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{fixture}: install.yaml must be a mapping")
    for key in ("role", "networks", "nics", "password", "console"):
        if key not in data:
            raise ConfigError(f"{fixture}: install.yaml has no {key!r}")
    return data


def test_install_config(fixture: Path, *, public_key: str, root_uuid: str,
                        service_address: str) -> dict[str, Any]:
    config = load_install_config(fixture)
    config["sshpublickey"] = public_key
    config["root_uuid"] = root_uuid
    config["dns_servers"] = [service_address]
    config["ntp_servers"] = [service_address]
    return config


def parse_install_config(config: dict[str, Any]) -> InstallConfig:
    """install.yaml as the installer will read it: its own parser and validation."""
    try:
        return installer_config.parse(yaml.safe_dump(config, sort_keys=False))
    except InstallError as exc:
        raise ConfigError(str(exc)) from exc


def nic_macs(config: InstallConfig) -> list[str]:
    macs = [nic.mac for nic in config.nics if nic.mac]
    if len(macs) < 2:
        raise ConfigError("install.yaml must list two nics with a mac (the two uplinks)")
    return macs


def router_ip(config: InstallConfig) -> str:
    """The IP the operator reaches the server on: the underlay IP (firewall) or the
    private primary network's first IP (machine)."""
    wanted = "underlay" if config.role == "firewall" else "private"
    for network in config.networks:
        if (network.underlay if wanted == "underlay" else network.private) and network.ips:
            return str(network.ips[0])
    raise ConfigError(f"install.yaml has no {wanted} network with ips")


def private_vrf_and_ip(config: InstallConfig) -> tuple[str, str]:
    """A firewall's private (tenant) network as (VRF device, first IP); empty when none."""
    for network in config.networks:
        if network.private and not network.underlay and network.ips:
            return network.vrf_name, str(network.ips[0])
    return "", ""


def local_asn(config: InstallConfig) -> int:
    for network in config.networks:
        if network.underlay if config.role == "firewall" else network.private:
            return network.asn
    raise ConfigError("install.yaml has no network with an asn")


def _write_0600(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o755)
    path.write_text(data)
    path.chmod(0o600)


def write_disk_json(root: Path, filesystems: list[Filesystem]) -> None:
    """The legacy disk.json, written before the image is extracted (as the hammer does)."""
    partitions = [{"Label": fs.partition.label, "Filesystem": fs.partition.fstype,
                   "Properties": {"UUID": fs.uuid}} for fs in filesystems]
    _write_0600(root / "etc/metal/disk.json", json.dumps({"Partitions": partitions}))


def write_installer_inputs(root: Path, config: dict[str, Any], userdata: str | None) -> None:
    _write_0600(root / "etc/metal/install.yaml", yaml.safe_dump(config, sort_keys=False))
    if userdata is not None:
        _write_0600(root / "etc/metal/userdata", userdata)
