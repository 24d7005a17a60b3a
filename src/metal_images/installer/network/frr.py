"""/etc/frr/frr.conf: BGP unnumbered to the leaf switches (and EVPN on firewalls).

Machine: eBGP on every uplink by interface name (IPv6 link-local, RFC 5549 next hops),
router id = the first IPv4 of the primary network, local AS = that network's asn; the
loopback /32s are announced (`redistribute connected` filtered by a prefix list, so
127.0.0.0/8 never leaks) and every route the switch sends, the default route included,
is accepted (`no bgp ebgp-requires-policy`). `bgp bestpath as-path multipath-relax`
lets both uplinks carry traffic even when the two leaves have different ASNs.

Firewall: the same underlay session on the uplinks (router id = underlay IP), plus l2vpn
evpn with one VRF per non-underlay network (VNI = VRF id), and route leaking: tenant
VRFs import the external networks' destination prefixes, external VRFs import the
tenant prefixes (so return traffic of the NAT finds its way).
"""

from __future__ import annotations

from typing import List

from ..config import Prefix
from .plan import EVPNNetwork, NetworkPlan, host_prefix

HEADER = "! written by the metal-images installer from /etc/metal/install.yaml; do not edit\n"
PEER_GROUP = "TOR"


def _common(plan: NetworkPlan) -> List[str]:
    lines = [
        "frr defaults datacenter",
        f"hostname {plan.hostname}",
        "log syslog informational",
        "service integrated-vtysh-config",
        "!",
    ]
    return lines


def _uplink_interfaces(plan: NetworkPlan) -> List[str]:
    lines: List[str] = []
    for up in plan.uplinks:
        lines += [f"interface {up.name}", " ipv6 nd ra-interval 6", " no ipv6 nd suppress-ra", "exit", "!"]
    return lines


def _bgp_header(plan: NetworkPlan, vrf: str = "") -> List[str]:
    suffix = f" vrf {vrf}" if vrf else ""
    return [
        f"router bgp {plan.asn}{suffix}",
        f" bgp router-id {plan.router_id}",
        " no bgp ebgp-requires-policy",
        " bgp bestpath as-path multipath-relax",
    ]


def _underlay_neighbors(plan: NetworkPlan) -> List[str]:
    lines = [f" neighbor {PEER_GROUP} peer-group", f" neighbor {PEER_GROUP} remote-as external"]
    lines += [f" neighbor {up.name} interface peer-group {PEER_GROUP}" for up in plan.uplinks]
    return lines


def _loopback_filters(plan: NetworkPlan) -> List[str]:
    v4 = [ip for ip in plan.loopback_ips if ip.version == 4]
    v6 = [ip for ip in plan.loopback_ips if ip.version == 6]
    lines = [
        f"ip prefix-list LOOPBACKS seq {10 * (i + 1)} permit {host_prefix(ip)}" for i, ip in enumerate(v4)
    ]
    lines += [
        f"ipv6 prefix-list LOOPBACKS6 seq {10 * (i + 1)} permit {host_prefix(ip)}" for i, ip in enumerate(v6)
    ]
    lines += ["!", "route-map LOOPBACKS permit 10", " match ip address prefix-list LOOPBACKS", "exit", "!"]
    if v6:
        lines += ["route-map LOOPBACKS permit 20", " match ipv6 address prefix-list LOOPBACKS6", "exit", "!"]
    return lines


def _announce_loopbacks(family: str) -> List[str]:
    """The underlay's address family: our loopbacks out, the peer group on."""
    return [
        " !",
        f" address-family {family} unicast",
        "  redistribute connected route-map LOOPBACKS",
        f"  neighbor {PEER_GROUP} activate",
        " exit-address-family",
    ]


def _has_v6(plan: NetworkPlan) -> bool:
    return any(ip.version == 6 for ip in plan.loopback_ips)


def machine(plan: NetworkPlan) -> str:
    lines = _common(plan) + _uplink_interfaces(plan) + _bgp_header(plan) + _underlay_neighbors(plan)
    lines += _announce_loopbacks("ipv4")
    if _has_v6(plan):
        lines += _announce_loopbacks("ipv6")
    lines += ["exit", "!", *_loopback_filters(plan), "line vty", "!"]
    return HEADER + "\n".join(lines) + "\n"


def _prefix_list(name: str, prefixes: List[Prefix]) -> List[str]:
    lines = []
    for i, prefix in enumerate(prefixes):
        family = "ip" if prefix.version == 4 else "ipv6"
        maximum = 32 if prefix.version == 4 else 128
        le = f" le {maximum}" if prefix.prefixlen < maximum and prefix.prefixlen > 0 else ""
        lines.append(f"{family} prefix-list {name} seq {10 * (i + 1)} permit {prefix}{le}")
    return lines


def _imports(e: EVPNNetwork, plan: NetworkPlan) -> List[EVPNNetwork]:
    """VRFs whose routes this VRF imports: tenants <-> external networks."""
    if e.network.external:
        return plan.private
    return [x for x in plan.evpn if x.network.external]


def _import_prefixes(e: EVPNNetwork, plan: NetworkPlan) -> List[Prefix]:
    sources = _imports(e, plan)
    if e.network.external:
        return [p for s in sources for p in s.network.prefixes]
    return [p for s in sources for p in s.network.destinationprefixes]


def firewall(plan: NetworkPlan) -> str:
    lines = _common(plan)
    for e in plan.evpn:
        lines += [f"vrf {e.vrf_name}", f" vni {e.vrf}", "exit-vrf", "!"]
    lines += _uplink_interfaces(plan) + _bgp_header(plan) + _underlay_neighbors(plan)
    lines += _announce_loopbacks("ipv4")
    lines += [
        " !",
        " address-family l2vpn evpn",
        f"  neighbor {PEER_GROUP} activate",
        "  advertise-all-vni",
        " exit-address-family",
        "exit",
        "!",
    ]
    filters: List[str] = []
    for e in plan.evpn:
        lines += _bgp_header(plan, e.vrf_name)
        lines += [" !", " address-family ipv4 unicast", "  redistribute connected"]
        sources = _imports(e, plan)
        prefixes = _import_prefixes(e, plan)
        if sources and prefixes:
            lines.append(f"  import vrf route-map {e.vrf_name}-import")
            lines += [f"  import vrf {s.vrf_name}" for s in sources]
            filters += _prefix_list(f"{e.vrf_name}-import", prefixes)
            filters += [
                f"route-map {e.vrf_name}-import permit 10",
                f" match ip address prefix-list {e.vrf_name}-import",
                "exit",
                "!",
            ]
        lines += [
            " exit-address-family",
            " !",
            " address-family l2vpn evpn",
            "  advertise ipv4 unicast",
            " exit-address-family",
            "exit",
            "!",
        ]
    lines += _loopback_filters(plan) + filters + ["line vty", "!"]
    return HEADER + "\n".join(lines) + "\n"


def render(plan: NetworkPlan) -> str:
    return machine(plan) if plan.role == "machine" else firewall(plan)
