"""/etc/metal/install.yaml: metal-hammer's InstallerConfig, parsed into typed dataclasses.

Keys and shapes follow metal-hammer's `api.InstallerConfig` (contract section 6.1).
Unknown keys are ignored (newer hammers add fields); known keys with a wrong type or a
malformed value raise an InstallError that names the key, e.g.
`install.yaml: networks[1].ips[0]: '10.0.0' is not an IP address`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import yaml

from .errors import InstallError

ROLES = ("machine", "firewall")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
HOSTNAME_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$")
IPAddress = Any  # ipaddress.IPv4Address | ipaddress.IPv6Address (3.9-friendly alias)
IPNetwork = Any


@dataclass(frozen=True)
class Network:
    asn: int
    destinationprefixes: List[IPNetwork]
    ips: List[IPAddress]
    nat: bool
    networkid: str
    networktype: str
    prefixes: List[IPNetwork]
    private: bool
    underlay: bool
    vrf: int

    @property
    def private_primary(self) -> bool:
        if self.networktype:
            return self.networktype.startswith("privateprimary")
        return self.private and not self.underlay

    @property
    def external(self) -> bool:
        return not self.private and not self.underlay

    @property
    def default_route(self) -> bool:
        return any(p.prefixlen == 0 for p in self.destinationprefixes)


@dataclass(frozen=True)
class Nic:
    mac: str
    name: str
    neighbor_macs: List[str]


@dataclass(frozen=True)
class FirewallRule:
    comment: str
    protocol: str  # tcp | udp
    ports: List[int]
    addresses: List[IPNetwork]  # `to` for egress, `from` for ingress


@dataclass(frozen=True)
class FirewallRules:
    egress: List[FirewallRule] = field(default_factory=list)
    ingress: List[FirewallRule] = field(default_factory=list)


@dataclass(frozen=True)
class VPN:
    """`vpn:` (tailscale/headscale): the control server, a pre-auth key, and whether the
    machine was already joined."""

    address: str
    authkey: str
    connected: bool


@dataclass(frozen=True)
class InstallConfig:
    hostname: str
    password: str
    console: str
    sshpublickey: str
    role: str
    raidenabled: bool
    root_uuid: str
    machineuuid: str
    networks: List[Network]
    nics: List[Nic]
    firewall_rules: FirewallRules
    dns_servers: List[IPAddress]
    ntp_servers: List[str]
    vpn: Optional[VPN] = None

    @property
    def underlay(self) -> Optional[Network]:
        return next((n for n in self.networks if n.underlay), None)

    @property
    def primary(self) -> Optional[Network]:
        return next((n for n in self.networks if n.private_primary and not n.underlay), None)


class _Reader:
    """Typed access to one mapping, with error messages carrying the key path."""

    def __init__(self, data: Dict[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def fail(self, key: str, problem: str) -> InstallError:
        return InstallError(f"install.yaml: {self.where}{key}: {problem}")

    def str_(self, key: str, required: bool = False, default: str = "") -> str:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.fail(key, "missing (a string is required)")
            return default
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {type(value).__name__} {value!r}")
        if required and not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def bool_(self, key: str) -> bool:
        value = self.data.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def int_(self, key: str, minimum: int = 0) -> int:
        value = self.data.get(key)
        if value is None:
            raise self.fail(key, "missing (a number is required)")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a number, got {value!r}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}")
        return value

    def list_(self, key: str) -> List[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {type(value).__name__} {value!r}")
        return value

    def ips(self, key: str) -> List[IPAddress]:
        result = []
        for i, item in enumerate(self.list_(key)):
            try:
                result.append(ipaddress.ip_address(str(item)))
            except ValueError:
                raise self.fail(f"{key}[{i}]", f"{item!r} is not an IP address") from None
        return result

    def prefixes(self, key: str) -> List[IPNetwork]:
        result = []
        for i, item in enumerate(self.list_(key)):
            try:
                result.append(ipaddress.ip_network(str(item), strict=True))
            except ValueError:
                raise self.fail(f"{key}[{i}]", f"{item!r} is not a network prefix (a.b.c.d/n)") from None
        return result

    def mapping(self, key: str, value: Any) -> "_Reader":
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__} {value!r}")
        return _Reader(value, f"{self.where}{key}.")


def _network(reader: _Reader) -> Network:
    return Network(
        asn=reader.int_("asn", minimum=1),
        destinationprefixes=reader.prefixes("destinationprefixes"),
        ips=reader.ips("ips"),
        nat=reader.bool_("nat"),
        networkid=reader.str_("networkid"),
        networktype=reader.str_("networktype"),
        prefixes=reader.prefixes("prefixes"),
        private=reader.bool_("private"),
        underlay=reader.bool_("underlay"),
        vrf=reader.int_("vrf", minimum=0),
    )


def _nic(reader: _Reader) -> Nic:
    mac = reader.str_("mac", required=True)
    if not MAC_RE.match(mac):
        raise reader.fail("mac", f"{mac!r} is not a MAC address")
    neighbor_macs = []
    for i, item in enumerate(reader.list_("neighbors")):
        neighbor = reader.mapping(f"neighbors[{i}]", item)
        neighbor_macs.append(neighbor.str_("mac"))
    return Nic(mac=mac.lower(), name=reader.str_("name"), neighbor_macs=neighbor_macs)


def _rule(reader: _Reader, direction: str) -> FirewallRule:
    protocol = reader.str_("protocol", default="tcp").lower()
    if protocol not in ("tcp", "udp"):
        raise reader.fail("protocol", f"expected TCP or UDP, got {protocol!r}")
    ports = []
    for i, port in enumerate(reader.list_("ports")):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise reader.fail(f"ports[{i}]", f"{port!r} is not a port number")
        ports.append(port)
    key = "to" if direction == "egress" else "from"
    return FirewallRule(
        comment=reader.str_("comment"), protocol=protocol, ports=ports, addresses=reader.prefixes(key)
    )


def _firewall_rules(top: _Reader) -> FirewallRules:
    raw = top.data.get("firewall_rules")
    if raw is None:
        return FirewallRules()
    reader = top.mapping("firewall_rules", raw)
    result: Dict[str, List[FirewallRule]] = {}
    for direction in ("egress", "ingress"):
        result[direction] = [
            _rule(reader.mapping(f"{direction}[{i}]", item), direction)
            for i, item in enumerate(reader.list_(direction))
        ]
    return FirewallRules(egress=result["egress"], ingress=result["ingress"])


def _vpn(top: _Reader) -> Optional[VPN]:
    raw = top.data.get("vpn")
    if raw is None:
        return None
    reader = top.mapping("vpn", raw)
    address = reader.str_("address", required=True)
    if any(c.isspace() for c in address):
        raise reader.fail("address", f"{address!r} is not a URL or host name")
    authkey = reader.str_("authkey", required=True)
    if any(c.isspace() for c in authkey):
        raise reader.fail("authkey", "must not contain white space")
    return VPN(address=address, authkey=authkey, connected=reader.bool_("connected"))


def parse(text: str) -> InstallConfig:
    """Parse and validate install.yaml's text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InstallError(f"install.yaml is not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise InstallError("install.yaml: expected a mapping of keys at the top level")
    top = _Reader(data, "")
    role = top.str_("role", required=True)
    if role not in ROLES:
        raise top.fail("role", f"unknown role {role!r} (expected machine or firewall)")
    networks = [_network(top.mapping(f"networks[{i}]", item)) for i, item in enumerate(top.list_("networks"))]
    nics = [_nic(top.mapping(f"nics[{i}]", item)) for i, item in enumerate(top.list_("nics"))]
    ntp = [str(s) for s in top.list_("ntp_servers")]
    hostname = top.str_("hostname", required=True)
    if not HOSTNAME_RE.match(hostname):
        raise top.fail("hostname", f"{hostname!r} is not a valid host name")
    password = top.str_("password", required=True)
    if "\n" in password or "\r" in password:
        raise top.fail("password", "must be a single line")
    config = InstallConfig(
        hostname=hostname,
        password=password,
        console=top.str_("console", default="ttyS0"),
        sshpublickey=top.str_("sshpublickey"),
        role=role,
        raidenabled=top.bool_("raidenabled"),
        root_uuid=top.str_("root_uuid", required=True),
        machineuuid=top.str_("machineuuid"),
        networks=networks,
        nics=nics,
        firewall_rules=_firewall_rules(top),
        dns_servers=top.ips("dns_servers"),
        ntp_servers=ntp,
        vpn=_vpn(top),
    )
    validate_networks(config)
    return config


def validate_networks(config: InstallConfig) -> None:
    """What metal-networker's Validate() demands, per role."""
    if not config.networks:
        raise InstallError("install.yaml: networks: no networks given")
    if not config.nics:
        raise InstallError("install.yaml: nics: no NICs given (need the uplinks lan0/lan1)")
    if config.role == "machine":
        primary = config.primary
        if primary is None:
            raise InstallError("install.yaml: networks: a machine needs a private primary network")
        if not primary.ips:
            raise InstallError("install.yaml: networks: the private primary network has no ips")
        if not any(ip.version == 4 for ip in primary.ips):
            raise InstallError("install.yaml: networks: the private primary network has no IPv4 (router id)")
        return
    underlays = [n for n in config.networks if n.underlay]
    if len(underlays) != 1:
        raise InstallError(
            f"install.yaml: networks: a firewall needs exactly one underlay network, got {len(underlays)}"
        )
    if not any(ip.version == 4 for ip in underlays[0].ips):
        raise InstallError("install.yaml: networks: the underlay network has no IPv4 address")
    for i, net in enumerate(config.networks):
        if not net.underlay and net.vrf == 0:
            raise InstallError(f"install.yaml: networks[{i}].vrf: a firewall network needs a VRF id > 0")
    if config.primary is None:
        raise InstallError("install.yaml: networks: a firewall needs a private primary network")
