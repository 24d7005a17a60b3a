"""/etc/metal/install.yaml: metal-hammer's InstallerConfig, parsed into typed dataclasses.

Keys and shapes follow metal-hammer's `api.InstallerConfig` with metal-go's models
(contract section 6.1): `vpn.auth_key`, `dns_servers: [{ip: ...}]`,
`ntp_servers: [{address: ...}]` (plain strings are accepted too), prefixes as Go's
`netip.ParsePrefix` reads them (host bits allowed, kept as written). Unknown keys are
ignored (newer metal-go versions add `nattypev2`, `networktypev2`, `projectid`, NIC
`identifier`, ...); known keys with a wrong type or a malformed value raise an
InstallError naming the key, e.g.
`install.yaml: networks[1].ips[0]: '10.0.0' is not an IP address`.

Everything here ends up in shell-sourced files, unit files or config lines, so the whole
document is validated before the installer writes anything: no control character in any
value, names and numbers within the ranges Linux and FRR accept.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from . import safeyaml
from .errors import InstallError

ROLES = ("machine", "firewall")
MAC_RE = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")
HOSTNAME_RE = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})")
# RFC 1123 host name (for NTP servers): dot-separated labels
HOST_RE = re.compile(
    r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# machine UUIDs come from the board; tailscale uses it as host name
MACHINE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
CONSOLE_RE = re.compile(r"[A-Za-z0-9]+(,[A-Za-z0-9]+)?")
VPN_ADDRESS_RE = re.compile(r"(https?://)?[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")
# it goes onto tailscale's command line: no leading '-' (an option) and no `file:` prefix
# (tailscale would read the key from that path)
VPN_KEY_RE = re.compile(r"(?!file:)[A-Za-z0-9][A-Za-z0-9_.:+/=-]{0,511}")
# control characters (C0, DEL, C1); a newline is one of them
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
RULE_COMMENT_RE = re.compile(r'[^"\\]{0,200}')

ASN_MAX = 2**32 - 1
VRF_MAX = 2**24 - 1  # the VNI is the VRF id, and VXLAN VNIs have 24 bits
VLAN_OFFSET = 1000  # metal-networker: VLAN id and VRF table = 1000 + the network's position
VLAN_MAX = 4094
IFNAME_MAX = 15  # IFNAMSIZ - 1

# metal-lib's network types (`networktype`)
UNDERLAY = "underlay"
PRIVATE_PRIMARY_UNSHARED = "privateprimaryunshared"
PRIVATE_PRIMARY_SHARED = "privateprimaryshared"
PRIVATE_SECONDARY_SHARED = "privatesecondaryshared"
PRIVATE_SECONDARY_UNSHARED = "privatesecondaryunshared"
EXTERNAL = "external"
NETWORK_TYPES = (
    UNDERLAY,
    PRIVATE_PRIMARY_UNSHARED,
    PRIVATE_PRIMARY_SHARED,
    PRIVATE_SECONDARY_SHARED,
    PRIVATE_SECONDARY_UNSHARED,
    EXTERNAL,
)

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@dataclass(frozen=True)
class Prefix:
    """A prefix as Go's netip.ParsePrefix reads it: `10.0.18.0/22` keeps its host bits.

    str() is the prefix as written (canonical address text), which is what metal-networker
    renders into prefix lists and nft rules; `network` is the masked network for
    computing (containment, overlap).
    """

    address: IPAddress
    prefixlen: int

    @classmethod
    def parse(cls, text: str) -> "Prefix":
        """ValueError unless `text` is `<ip>/<bits>` (no zone, bits in range)."""
        addr, sep, bits = text.partition("/")
        if not sep or not bits.isdigit() or (len(bits) > 1 and bits[0] == "0") or "%" in addr:
            raise ValueError(text)
        address = ipaddress.ip_address(addr)
        prefixlen = int(bits)
        if prefixlen > address.max_prefixlen:
            raise ValueError(text)
        return cls(address, prefixlen)

    @property
    def version(self) -> int:
        return self.address.version

    @property
    def max_prefixlen(self) -> int:
        return self.address.max_prefixlen

    @property
    def network(self) -> IPNetwork:
        return ipaddress.ip_network(f"{self.address}/{self.prefixlen}", strict=False)

    @property
    def is_default(self) -> bool:
        return self.prefixlen == 0

    def __str__(self) -> str:
        return f"{self.address}/{self.prefixlen}"


@dataclass(frozen=True)
class Network:
    asn: int
    destinationprefixes: List[Prefix]
    ips: List[IPAddress]
    nat: bool
    networkid: str
    networktype: str  # one of NETWORK_TYPES (derived from private/underlay when missing)
    prefixes: List[Prefix]
    private: bool
    underlay: bool
    vrf: int

    @property
    def vrf_name(self) -> str:
        return f"vrf{self.vrf}"

    @property
    def private_primary(self) -> bool:
        return self.networktype in (PRIVATE_PRIMARY_UNSHARED, PRIVATE_PRIMARY_SHARED)

    @property
    def private_secondary_shared(self) -> bool:
        """A shared network the tenant reaches: storage, or a DMZ (see `dmz`)."""
        return self.networktype == PRIVATE_SECONDARY_SHARED

    @property
    def external(self) -> bool:
        return self.networktype == EXTERNAL

    @property
    def default_route(self) -> bool:
        return any(p.is_default for p in self.destinationprefixes)

    @property
    def dmz(self) -> bool:
        """metal-networker's isDMZNetwork: a private secondary shared network with a default route."""
        return self.private_secondary_shared and self.default_route

    @property
    def storage(self) -> bool:
        """A shared network without a default route (storage): never gets internet."""
        return self.private_secondary_shared and not self.default_route

    @property
    def evpn(self) -> bool:
        """Gets a VRF, VXLAN and SVI on a firewall (metal-networker renders these four types)."""
        return self.private_primary or self.private_secondary_shared or self.external

    def prefixes_of(self, version: int) -> List[Prefix]:
        return [p for p in self.prefixes if p.version == version]

    def ips_of(self, version: int) -> List[IPAddress]:
        return [ip for ip in self.ips if ip.version == version]


@dataclass(frozen=True)
class Nic:
    mac: str
    name: str
    neighbor_macs: List[str]


@dataclass(frozen=True)
class FirewallRule:
    """One of metal-go's V1FirewallEgressRule (to) / V1FirewallIngressRule (from, to)."""

    comment: str
    protocol: str  # tcp | udp
    ports: List[int]
    sources: List[Prefix]  # ingress `from` (empty for egress)
    destinations: List[Prefix]  # `to`; for ingress optional (the firewall's targets)
    direction: str  # egress | ingress

    @property
    def addresses(self) -> List[Prefix]:
        """The peer side: `to` for egress, `from` for ingress."""
        return self.destinations if self.direction == "egress" else self.sources


@dataclass(frozen=True)
class FirewallRules:
    egress: List[FirewallRule] = field(default_factory=list)
    ingress: List[FirewallRule] = field(default_factory=list)


@dataclass(frozen=True)
class VPN:
    """`vpn:` (tailscale/headscale): the control server, a pre-auth key (metal-go's
    `auth_key`), and whether the machine was already joined."""

    address: str
    auth_key: str
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

    def of_type(self, *types: str) -> List[Network]:
        """Networks of the given types, grouped in the order of `types` (as metal-networker's
        GetNetworks returns them)."""
        return [n for t in types for n in self.networks if n.networktype == t]

    @property
    def externals(self) -> List[Network]:
        return self.of_type(EXTERNAL)

    @property
    def shared(self) -> List[Network]:
        """Private secondary shared networks (storage and DMZ)."""
        return self.of_type(PRIVATE_SECONDARY_SHARED)

    @property
    def default_route_network(self) -> Optional[Network]:
        """metal-networker's GetDefaultRouteNetwork: the first external network with a
        default route, else the first DMZ."""
        for net in self.externals + self.shared:
            if net.default_route:
                return net
        return None


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

    def matching(self, key: str, pattern: "re.Pattern[str]", what: str, required: bool = False) -> str:
        value = self.str_(key, required=required)
        if value and not pattern.fullmatch(value):
            raise self.fail(key, f"{value!r} is not {what}")
        return value

    def bool_(self, key: str) -> bool:
        value = self.data.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def int_(
        self, key: str, minimum: int = 0, maximum: Optional[int] = None, default: Optional[int] = None
    ) -> int:
        value = self.data.get(key)
        if value is None:
            if default is not None:
                return default
            raise self.fail(key, "missing (a number is required)")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a number, got {value!r}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(key, f"must be at most {maximum}, got {value}")
        return value

    def list_(self, key: str) -> List[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {type(value).__name__} {value!r}")
        return value

    def ip(self, key: str, item: Any) -> IPAddress:
        if not isinstance(item, str):
            raise self.fail(key, f"{item!r} is not an IP address")
        try:
            return ipaddress.ip_address(item)
        except ValueError:
            raise self.fail(key, f"{item!r} is not an IP address") from None

    def ips(self, key: str) -> List[IPAddress]:
        return [self.ip(f"{key}[{i}]", item) for i, item in enumerate(self.list_(key))]

    def prefixes(self, key: str) -> List[Prefix]:
        result = []
        for i, item in enumerate(self.list_(key)):
            try:
                if not isinstance(item, str):
                    raise ValueError(item)
                result.append(Prefix.parse(item))
            except ValueError:
                raise self.fail(f"{key}[{i}]", f"{item!r} is not a network prefix (address/bits)") from None
        return result

    def mapping(self, key: str, value: Any) -> "_Reader":
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__} {value!r}")
        return _Reader(value, f"{self.where}{key}.")

    def entries(self, key: str, field_name: str) -> List[Any]:
        """A list of `{field_name: value}` mappings (metal-go) or of plain values."""
        result = []
        for i, item in enumerate(self.list_(key)):
            if isinstance(item, dict):
                entry = self.mapping(f"{key}[{i}]", item)
                value = entry.data.get(field_name)
                if value is None:
                    raise entry.fail(field_name, "missing")
                result.append((f"{key}[{i}].{field_name}", value))
            else:
                result.append((f"{key}[{i}]", item))
        return result


def _networktype(reader: _Reader, private: bool, underlay: bool, primary_seen: bool) -> str:
    value = reader.str_("networktype")
    if value:
        if value not in NETWORK_TYPES:
            raise reader.fail(
                "networktype", f"unknown network type {value!r} (expected one of {', '.join(NETWORK_TYPES)})"
            )
        return value
    # hammers before networktype existed: the first private network is the primary
    if underlay:
        return UNDERLAY
    if private:
        return PRIVATE_SECONDARY_SHARED if primary_seen else PRIVATE_PRIMARY_UNSHARED
    return EXTERNAL


def _network(reader: _Reader, primary_seen: bool) -> Network:
    private = reader.bool_("private")
    underlay = reader.bool_("underlay")
    networktype = _networktype(reader, private, underlay, primary_seen)
    return Network(
        asn=reader.int_("asn", minimum=1, maximum=ASN_MAX),
        destinationprefixes=reader.prefixes("destinationprefixes"),
        ips=reader.ips("ips"),
        nat=reader.bool_("nat"),
        networkid=reader.str_("networkid"),
        networktype=networktype,
        prefixes=reader.prefixes("prefixes"),
        private=private,
        underlay=networktype == UNDERLAY,  # the type decides, as in metal-networker
        vrf=reader.int_("vrf", minimum=0, maximum=VRF_MAX, default=0),
    )


def _networks(top: _Reader) -> List[Network]:
    result: List[Network] = []
    for i, item in enumerate(top.list_("networks")):
        seen = any(n.private_primary for n in result)
        result.append(_network(top.mapping(f"networks[{i}]", item), seen))
    return result


def _nic(reader: _Reader) -> Nic:
    mac = reader.matching("mac", MAC_RE, "a MAC address", required=True)
    neighbor_macs = []
    for i, item in enumerate(reader.list_("neighbors")):
        neighbor = reader.mapping(f"neighbors[{i}]", item)
        neighbor_macs.append(neighbor.matching("mac", MAC_RE, "a MAC address"))
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
    return FirewallRule(
        comment=reader.matching("comment", RULE_COMMENT_RE, 'a comment (at most 200 characters, no " or \\)'),
        protocol=protocol,
        ports=ports,
        sources=reader.prefixes("from") if direction == "ingress" else [],
        destinations=reader.prefixes("to"),
        direction=direction,
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
    address = reader.matching(
        "address", VPN_ADDRESS_RE, "a host name or http(s) URL of the VPN control server", required=True
    )
    # metal-go's yaml tag is auth_key; `authkey` was this installer's own spelling before
    key_name = "auth_key" if "auth_key" in reader.data or "authkey" not in reader.data else "authkey"
    auth_key = reader.matching(
        key_name, VPN_KEY_RE, "a VPN auth key (letters, digits, _.:+/=-; not starting with - or file:)",
        required=True
    )
    return VPN(address=address, auth_key=auth_key, connected=reader.bool_("connected"))


def _dns_servers(top: _Reader) -> List[IPAddress]:
    return [top.ip(where, value) for where, value in top.entries("dns_servers", "ip")]


def _ntp_servers(top: _Reader) -> List[str]:
    result = []
    for where, value in top.entries("ntp_servers", "address"):
        if not isinstance(value, str):
            raise top.fail(where, f"{value!r} is not a host name or IP address")
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not HOST_RE.fullmatch(value):
                raise top.fail(where, f"{value!r} is not a host name or IP address") from None
        result.append(value)
    return result


def _no_control_characters(value: Any, where: str) -> None:
    """Walk the loaded document: no key or value may carry a control character (a newline
    in a host name or an NTP server becomes a new line in the file it is written to).
    `sshpublickey` may hold several keys, one per line."""
    stack = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and CONTROL_RE.search(key):
                    raise InstallError(f"install.yaml: {path}{key!r}: a key with a control character")
                stack.append((child, f"{path}{key}."))
        elif isinstance(item, list):
            stack.extend((child, f"{path[:-1]}[{i}].") for i, child in enumerate(item))
        elif isinstance(item, str):
            text = item.replace("\n", "") if path == "sshpublickey." else item
            found = CONTROL_RE.search(text)
            if found:
                shown = "a newline" if found.group() in "\r\n" else f"control character {found.group()!r}"
                raise InstallError(f"install.yaml: {path[:-1]}: contains {shown}")


def parse(text: str) -> InstallConfig:
    """Parse and validate install.yaml's text."""
    data = safeyaml.load(text, "install.yaml")
    if not isinstance(data, dict):
        raise InstallError("install.yaml: expected a mapping of keys at the top level")
    _no_control_characters(data, "")
    top = _Reader(data, "")
    role = top.str_("role", required=True)
    if role not in ROLES:
        raise top.fail("role", f"unknown role {role!r} (expected machine or firewall)")
    networks = _networks(top)
    nics = [_nic(top.mapping(f"nics[{i}]", item)) for i, item in enumerate(top.list_("nics"))]
    config = InstallConfig(
        hostname=top.matching("hostname", HOSTNAME_RE, "a valid host name", required=True),
        password=top.str_("password", required=True),
        console=top.matching("console", CONSOLE_RE, "a console (e.g. ttyS1,115200n8)") or "ttyS0",
        sshpublickey=top.str_("sshpublickey"),
        role=role,
        raidenabled=top.bool_("raidenabled"),
        root_uuid=top.matching("root_uuid", UUID_RE, "a file system UUID", required=True),
        machineuuid=top.matching("machineuuid", MACHINE_ID_RE, "a machine UUID"),
        networks=networks,
        nics=nics,
        firewall_rules=_firewall_rules(top),
        dns_servers=_dns_servers(top),
        ntp_servers=_ntp_servers(top),
        vpn=_vpn(top),
    )
    validate_networks(config)
    return config


def _check_ranges(config: InstallConfig) -> None:
    """Unique VRFs, VLAN ids and interface names Linux accepts (metal-networker's numbering)."""
    seen: Dict[int, int] = {}
    evpn = [i for i, n in enumerate(config.networks) if not n.underlay] if config.role == "firewall" else []
    for i in evpn:
        net = config.networks[i]
        if net.vrf in seen:
            raise InstallError(
                f"install.yaml: networks[{i}].vrf: VRF {net.vrf} is also used by networks[{seen[net.vrf]}]"
            )
        seen[net.vrf] = i
        for name in (f"vrf{net.vrf}", f"vlan{net.vrf}", f"vni{net.vrf}"):
            if len(name.encode()) > IFNAME_MAX:
                raise InstallError(f"install.yaml: networks[{i}].vrf: name {name} exceeds {IFNAME_MAX} bytes")
    if evpn and VLAN_OFFSET + evpn[-1] > VLAN_MAX:
        raise InstallError(
            f"install.yaml: networks[{evpn[-1]}]: its VLAN id {VLAN_OFFSET + evpn[-1]} exceeds {VLAN_MAX}"
        )


def validate_networks(config: InstallConfig) -> None:
    """What metal-networker's Validate() demands, per role."""
    if not config.networks:
        raise InstallError("install.yaml: networks: no networks given")
    if not config.nics:
        raise InstallError("install.yaml: nics: no NICs given (need the uplinks lan0/lan1)")
    primaries = [n for n in config.networks if n.private_primary]
    if len(primaries) != 1:
        raise InstallError(
            f"install.yaml: networks: exactly one private primary network is required, got {len(primaries)}"
        )
    if config.role == "machine":
        primary = primaries[0]
        if not primary.ips:
            raise InstallError("install.yaml: networks: the private primary network has no ips")
        return
    underlays = [n for n in config.networks if n.underlay]
    if len(underlays) != 1:
        raise InstallError(
            f"install.yaml: networks: a firewall needs exactly one underlay network, got {len(underlays)}"
        )
    if not underlays[0].ips:
        raise InstallError("install.yaml: networks: the underlay network has no ips (loopback, VTEP)")
    for i, net in enumerate(config.networks):
        if not net.underlay and net.vrf == 0:
            raise InstallError(f"install.yaml: networks[{i}].vrf: a firewall network needs a VRF id > 0")
        if net.external and not net.destinationprefixes:
            raise InstallError(
                f"install.yaml: networks[{i}].destinationprefixes: an external network needs some"
            )
    if not config.externals and not any(n.dmz for n in config.networks):
        raise InstallError("install.yaml: networks: a firewall needs an external network or a DMZ network")
    if any(n.nat for n in config.networks) and not primaries[0].prefixes:
        raise InstallError("install.yaml: networks: the private primary network needs prefixes for NAT")
    _check_ranges(config)
