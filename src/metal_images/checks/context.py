"""What the checks need to know about the machine under test (passed as a JSON file)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ExpectedFile:
    path: str
    contains: str
    mode: int | None = None


@dataclass(frozen=True)
class CheckContext:
    role: str                      # machine | firewall
    os_id: str                     # debian | ubuntu | almalinux | centos
    hostname: str
    router_id: str                 # the IP we reach the server on (BGP router id)
    asn: int
    public_key: str
    password: str                  # console password of metal (sudo)
    macs: list[str]
    boot_cmdline: str              # boot-info.yaml cmdline
    uefi: bool
    dns_name: str                  # a test name the switch's DNS answers
    dns_address: str
    endpoint_url: str              # stands in for "the internet"
    endpoint_text: str
    switch_namespace: str
    switch_vty: str                # vtysh --vty_socket of the switch
    private_vrf: str = ""          # firewall: the tenant network's VRF device, e.g. vrf3981
    private_ip: str = ""           # firewall: its address in that network
    machine_uuid: str = ""         # install.yaml machineuuid: the LLDP System Name
    install_timestamp: str = ""    # install.yaml timestamp: in the LLDP System Description
    userdata_files: list[ExpectedFile] = field(default_factory=list)
    userdata_units: list[str] = field(default_factory=list)

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> CheckContext:
        data = json.loads(path.read_text())
        data["userdata_files"] = [ExpectedFile(**f) for f in data.get("userdata_files", [])]
        return cls(**data)
