"""What metal-hammer writes for the installer: install.yaml, userdata, disk.json.

install.yaml starts from a fixture (a real InstallerConfig shape) and gets the values
only the harness knows: the fresh test SSH key, the real root UUID, the switch's DNS and
NTP address.
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


def nic_macs(config: dict[str, Any]) -> list[str]:
    macs = [str(nic["mac"]) for nic in config.get("nics") or [] if nic.get("mac")]
    if len(macs) < 2:
        raise ConfigError("install.yaml must list two nics with a mac (the two uplinks)")
    return macs


def router_ip(config: dict[str, Any]) -> str:
    """The IP the operator reaches the server on: the underlay IP (firewall) or the
    private primary network's first IP (machine)."""
    networks = config.get("networks") or []
    wanted = "underlay" if config.get("role") == "firewall" else "private"
    for network in networks:
        if network.get(wanted) and network.get("ips"):
            return str(network["ips"][0])
    raise ConfigError(f"install.yaml has no {wanted} network with ips")


def private_vrf_and_ip(config: dict[str, Any]) -> tuple[str, str]:
    """A firewall's private (tenant) network as (VRF device, first IP); empty when none."""
    for network in config.get("networks") or []:
        if network.get("private") and not network.get("underlay") and network.get("ips"):
            return f"vrf{network['vrf']}", str(network["ips"][0])
    return "", ""


def local_asn(config: dict[str, Any]) -> int:
    for network in config.get("networks") or []:
        if (network.get("underlay") if config.get("role") == "firewall" else network.get("private")):
            return int(network["asn"])
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
