"""/etc/frr/frr.conf as metal-networker renders it (pkg/netconf frr.*.tpl, routemap.go).

Machine: eBGP unnumbered to the leaves (peer group TOR, timers 2 8) announcing only
routes that originate here (`only-self-out`: the empty AS path), `redistribute connected`
and `redistribute kernel` (addresses and routes added later, e.g. by MetalLB, are
announced), and a LOCAL peer group with `bgp listen range 0.0.0.0/0` so daemons on the
machine itself (MetalLB, Cilium) can peer over iBGP; their routes get weight 32768.

Firewall: the same underlay towards the leaves (peer group FABRIC, only the loopbacks:
`match interface lo`), l2vpn evpn with one VRF per tenant, shared and external network
(VNI = VRF id) and route leaking between the VRFs computed per target VRF as
metal-networker's importRulesForNetwork does (see `import_rule`): per source VRF one
prefix list, a route-map entry matching source VRF and prefix list, private prefixes
leaked into external VRFs marked `no-export`, the firewall's own public IP denied in the
tenant, and a final deny.

The FRR release matters in two places: FRR 10 needs `no bgp enforce-first-as` in the
VRFs (routes leaked between VRFs keep the first AS of their origin), and
`allow-reserved-ranges` is only understood from FRR 8.2 on (Ubuntu 22.04 ships 8.1).
The installer reads the image's release from dpkg's status file (`installed_version`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..config import (
    EXTERNAL,
    PRIVATE_PRIMARY_SHARED,
    PRIVATE_PRIMARY_UNSHARED,
    PRIVATE_SECONDARY_SHARED,
    InstallConfig,
    Network,
    Prefix,
)
from .plan import NetworkPlan

HEADER = "! written by the metal-images installer from /etc/metal/install.yaml; do not edit\n"
# the `frr version` line metal-networker writes whatever FRR runs (informational for FRR)
CONFIG_VERSION = "8.5"
SEQ_SEED = 100  # IPPrefixListSeqSeed
ORDER_STEP = 10  # RouteMapOrderSeed
NO_EXPORT = "-no-export"
DPKG_STATUS = "/var/lib/dpkg/status"

Version = Tuple[int, ...]


def installed_version(dpkg_status: str, package: str = "frr") -> Optional[Version]:
    """The release of an installed package from dpkg's status file, e.g. (8, 4, 4) for
    `8.4.4-1.1~deb12u1`; None when it is not installed or unreadable."""
    for stanza in dpkg_status.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line.startswith(" ")
        )
        if fields.get("Package") != package or "installed" not in fields.get("Status", "").split():
            continue
        upstream = fields.get("Version", "").split(":", 1)[-1]
        match = re.match(r"(\d+(?:\.\d+)*)", upstream)
        return tuple(int(part) for part in match.group(1).split(".")) if match else None
    return None


# ------------------------------------------------------------------------------------
# route leaking (metal-networker routemap.go)


@dataclass(frozen=True)
class ImportPrefix:
    prefix: Prefix
    permit: bool
    source_vrf: str


@dataclass
class ImportRule:
    target_vrf: str
    import_vrfs: List[str] = field(default_factory=list)
    prefixes: List[ImportPrefix] = field(default_factory=list)
    no_export: List[ImportPrefix] = field(default_factory=list)


def _own(networks: List[Network], source: Optional[str] = None) -> List[ImportPrefix]:
    """The prefixes of networks, imported from their own VRF (or from `source`)."""
    return [ImportPrefix(p, True, source or n.vrf_name) for n in networks for p in n.prefixes]


def _destinations(networks: List[Network]) -> List[ImportPrefix]:
    return [ImportPrefix(p, True, n.vrf_name) for n in networks for p in n.destinationprefixes]


def import_rule(config: InstallConfig, network: Network) -> ImportRule:
    """What the VRF of `network` imports from which other VRF."""
    primary = config.primary
    assert primary is not None  # validate_networks
    externals, shared = config.externals, config.shared
    rule = ImportRule(network.vrf_name)
    if network.private_primary:
        # out into the external networks: their destinations, minus the firewall's own
        # public address of the default route network, plus their own prefixes
        rule.import_vrfs = [n.vrf_name for n in externals]
        rule.prefixes = _destinations(externals)
        default = config.default_route_network
        if default is not None:
            rule.prefixes += [
                ImportPrefix(Prefix(ip, ip.max_prefixlen), False, default.vrf_name) for ip in default.ips
            ]
        rule.prefixes += _own(externals)
        # and into the shared networks (storage, DMZ), with their destinations
        rule.import_vrfs += [n.vrf_name for n in shared]
        rule.prefixes += _own(shared)
        for net in shared:
            for prefix in net.destinationprefixes:
                if all(p.prefix != prefix for p in rule.prefixes):
                    rule.prefixes.append(ImportPrefix(prefix, True, net.vrf_name))
    elif network.private_secondary_shared:
        # back into the tenant only; a DMZ also reaches the external networks whose
        # destinations it shares (an app firewall behind it gets the default route)
        rule.import_vrfs = [primary.vrf_name]
        rule.prefixes = _own([primary]) + _own([network], primary.vrf_name)
        for prefix in network.destinationprefixes:
            for ext in externals:
                if any(prefix == d for d in ext.destinationprefixes):
                    rule.prefixes.append(ImportPrefix(prefix, True, ext.vrf_name))
                    rule.import_vrfs.append(ext.vrf_name)
                    rule.prefixes += _own([ext])
    elif network.external:
        # the tenant's public addresses come back from the tenant VRF; private prefixes
        # of the tenant (and of DMZs, for the internet) are leaked, but never exported
        rule.import_vrfs = [primary.vrf_name]
        rule.prefixes = _own([network], primary.vrf_name)
        sources = [primary]
        if network.default_route:
            dmzs = [n for n in shared if n.default_route]
            sources += dmzs
            rule.import_vrfs += [n.vrf_name for n in dmzs]
        rule.no_export = _own(sources)
    return rule


@dataclass(frozen=True)
class PrefixListEntry:
    name: str
    family: str  # ip | ipv6
    spec: str
    source_vrf: str

    def line(self) -> str:
        return f"{self.family} prefix-list {self.name} {self.spec}"


def _entries(
    prefixes: List[ImportPrefix], version: int, exported: bool, seed: int, target: str
) -> List[PrefixListEntry]:
    result = []
    for p in prefixes:
        if p.prefix.version != version:
            continue
        policy = "permit" if p.permit else "deny"
        if p.prefix.is_default:
            spec = f"{policy} {p.prefix}"  # FRR rejects `le` on a /0; its seq is implicit
        else:
            spec = f"seq {seed} {policy} {p.prefix} le {p.prefix.max_prefixlen}"
        if target != p.source_vrf:  # importing from oneself is nonsense
            suffix = ("-ipv6" if version == 6 else "") + ("" if exported else NO_EXPORT)
            name = f"{target}-import-from-{p.source_vrf}{suffix}"
            result.append(PrefixListEntry(name, "ip" if version == 4 else "ipv6", spec, p.source_vrf))
        seed += 1
    return result


def prefix_lists(rule: ImportRule) -> List[PrefixListEntry]:
    """metal-networker's numbering: per family the no-export list, then the exported one,
    the sequence numbers continuing from how many entries came before (its quirks kept:
    the IPv6 no-export list restarts where the IPv4 exported list started)."""
    result: List[PrefixListEntry] = []
    seed = SEQ_SEED
    for version in (4, 6):
        result += _entries(rule.no_export, version, False, seed, rule.target_vrf)
        seed = SEQ_SEED + len(result)
        result += _entries(rule.prefixes, version, True, seed, rule.target_vrf)
    return result


def route_map(rule: ImportRule, entries: List[PrefixListEntry]) -> List[str]:
    first: Dict[str, PrefixListEntry] = {}
    for entry in entries:
        first.setdefault(entry.name, entry)
    name = f"{rule.target_vrf}-import-map"
    lines: List[str] = []
    order = ORDER_STEP
    for list_name in sorted(first, reverse=True):
        entry = first[list_name]
        lines += [
            f"route-map {name} permit {order}",
            f" match source-vrf {entry.source_vrf}",
            f" match {entry.family} address prefix-list {list_name}",
        ]
        if list_name.endswith(NO_EXPORT):
            lines.append(" set community additive no-export")
        order += ORDER_STEP
    return [*lines, f"route-map {name} deny {order}"]


# ------------------------------------------------------------------------------------
# rendering


def _header(plan: NetworkPlan) -> List[str]:
    return [f"frr version {CONFIG_VERSION}", "frr defaults datacenter", f"hostname {plan.hostname}"]


LOGGING = [
    "!",
    "log syslog debugging",
    "debug bgp updates",
    "debug bgp nht",
    "debug bgp update-groups",
    "debug bgp zebra",
]


def _interfaces(plan: NetworkPlan) -> List[str]:
    lines: List[str] = []
    for up in plan.uplinks:
        lines += ["!", f"interface {up.name}", " ipv6 nd ra-interval 6", " no ipv6 nd suppress-ra"]
    return lines


def _uplink_neighbors(plan: NetworkPlan, group: str) -> List[str]:
    lines = [
        f" neighbor {group} peer-group",
        f" neighbor {group} remote-as external",
        f" neighbor {group} timers 2 8",
    ]
    return lines + [f" neighbor {up.name} interface peer-group {group}" for up in plan.uplinks]


def machine(plan: NetworkPlan, version: Optional[Version]) -> str:
    lines = _header(plan)
    if version is None or version >= (8, 2):
        lines.append("allow-reserved-ranges")
    lines += LOGGING + _interfaces(plan)
    lines += ["!", "no zebra nexthop kernel enable", "!"]
    lines += [
        f"router bgp {plan.asn}",
        f" bgp router-id {plan.router_id}",
        " bgp bestpath as-path multipath-relax",
    ]
    lines += _uplink_neighbors(plan, "TOR")
    lines += [
        " neighbor LOCAL peer-group",
        " neighbor LOCAL remote-as internal",
        " neighbor LOCAL timers 2 8",
        " neighbor LOCAL route-map local-in in",
        " bgp listen range 0.0.0.0/0 peer-group LOCAL",
    ]
    lines += _uplink_families("TOR", ["redistribute connected", "redistribute kernel"])
    lines += [
        "exit",
        "!",
        "bgp as-path access-list SELF permit ^$",
        "!",
        "route-map local-in permit 10",
        " set weight 32768",
        "exit",
        "!",
        "route-map only-self-out permit 10",
        " match as-path SELF",
        "exit",
        "!",
        "route-map only-self-out deny 99",
        "exit",
        "!",
    ]
    return HEADER + "\n".join(lines) + "\n"


def _uplink_families(peer_group: str, redistribute: List[str]) -> List[str]:
    """The default VRF's IPv4 and IPv6 unicast families towards the uplinks: announce only
    our own routes; IPv6 is not active on a peer group by default, so it is switched on."""
    lines: List[str] = []
    for family in ("ipv4", "ipv6"):
        lines += [" !", f" address-family {family} unicast", *(f"  {line}" for line in redistribute),
                  f"  neighbor {peer_group} route-map only-self-out out"]
        if family == "ipv6":
            lines.append(f"  neighbor {peer_group} activate")
        lines.append(" exit-address-family")
    return lines


def _vrf_router(plan: NetworkPlan, net: Network, rule: ImportRule, version: Optional[Version]) -> List[str]:
    lines = ["!", f"router bgp {plan.asn} vrf {net.vrf_name}", f" bgp router-id {plan.router_id}"]
    if version is not None and version >= (10,):
        lines.append(" no bgp enforce-first-as")
    lines.append(" bgp bestpath as-path multipath-relax")
    for family in ("ipv4", "ipv6"):
        lines += [" !", f" address-family {family} unicast", "  redistribute connected"]
        lines += [f"  import vrf {name}" for name in rule.import_vrfs]
        lines += [f"  import vrf route-map {net.vrf_name}-import-map", " exit-address-family"]
    lines += [
        " !",
        " address-family l2vpn evpn",
        "  advertise ipv4 unicast",
        "  advertise ipv6 unicast",
        " exit-address-family",
        "exit",
    ]
    return lines


def vrf_networks(config: InstallConfig) -> List[Network]:
    """The networks metal-networker gives a VRF in frr.conf, in its order (by type)."""
    return config.of_type(
        PRIVATE_PRIMARY_UNSHARED, PRIVATE_PRIMARY_SHARED, PRIVATE_SECONDARY_SHARED, EXTERNAL
    )


def firewall(config: InstallConfig, plan: NetworkPlan, version: Optional[Version]) -> str:
    networks = vrf_networks(config)
    rules = [(n, import_rule(config, n)) for n in networks]
    lines = _header(plan) + LOGGING
    for net in networks:
        lines += ["!", f"vrf {net.vrf_name}", f" vni {net.vrf}", "exit-vrf"]
    lines += _interfaces(plan)
    lines += [
        "!",
        f"router bgp {plan.asn}",
        f" bgp router-id {plan.router_id}",
        " bgp bestpath as-path multipath-relax",
    ]
    lines += _uplink_neighbors(plan, "FABRIC")
    lines += _uplink_families("FABRIC", ["redistribute connected route-map LOOPBACKS"])
    lines += [
        " !",
        " address-family l2vpn evpn",
        "  neighbor FABRIC activate",
        "  advertise-all-vni",
        " exit-address-family",
        "exit",
    ]
    for net, rule in rules:
        lines += _vrf_router(plan, net, rule, version)
    for _net, rule in rules:
        entries = prefix_lists(rule)
        lines += ["!", *(e.line() for e in entries), *route_map(rule, entries)]
    lines += [
        "!",
        "route-map only-self-out permit 10",
        " match as-path SELF",
        "exit",
        "route-map only-self-out deny 20",
        "exit",
        "!",
        "route-map LOOPBACKS permit 10",
        " match interface lo",
        "exit",
        "!",
        "bgp as-path access-list SELF permit ^$",
        "!",
        "line vty",
        "!",
    ]
    return HEADER + "\n".join(lines) + "\n"


def render(config: InstallConfig, plan: NetworkPlan, version: Optional[Version] = None) -> str:
    """frr.conf for the FRR `version` the image ships (None: unknown, rendered as
    metal-networker does without a version)."""
    return machine(plan, version) if plan.role == "machine" else firewall(config, plan, version)


# ------------------------------------------------------------------------------------
# validation


def rejected_lines(vtysh_output: str) -> List[str]:
    """vtysh --dryrun reports a rejected line as `% ...` (and `line N: % ...`) but may
    still exit 0 (e.g. for a bad `router bgp` block): these lines decide."""
    return [line.strip() for line in vtysh_output.splitlines() if re.match(r"^\s*(line \d+:\s*)?%", line)]
