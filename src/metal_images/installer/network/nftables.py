"""/etc/nftables/rules for firewalls, as metal-networker renders it.

The image's /etc/nftables.conf flushes the ruleset and includes /etc/nftables/*; this is
the file metal-networker (and later firewall-controller) owns. Two tables:

`inet metal` filters.
- input, policy drop: ICMPv6 (neighbour discovery), loopback, BGP unnumbered from the
  uplinks' link-local addresses, VXLAN from the underlay, established flows, the DNS
  proxy (when on), SSH (only through `tailscale*` when install.yaml has a VPN), the node
  (9100) and nftables (9630) exporters from the private networks' VRFs; the rest is
  logged and dropped in `refuse`.
- forward, policy drop (or accept, the variant firewall-controller renders when cluster
  policies take over): invalid dropped, established accepted, BGP towards the machines
  refused, then `firewall_rules`. For routed traffic the kernel's input/forward hooks see
  the VRF device as the input interface, so egress rules match `iifname vrf<id>` of the
  private networks; ingress rules match their `to:` prefixes or, without one, the
  private primary network's VRF/VXLAN/SVI as output interface. With policy drop, what
  falls through is logged with the `nftables-metal-dropped: ` prefix droptailer ships.
- output, policy accept, plus the conntrack-zone chain of the DNS proxy.

`inet nat`: the proxy's DNS server sets, its DNAT, and source NAT (`masquerade random`)
of the private primary (and DMZ) prefixes out of every network with `nat: true`, IPv4
and IPv6 alike.

Unlike metal-networker, the input chain's uplinks are the firewall's own NICs (lan0..n,
not always lan0 and lan1), a rule without ports matches its whole protocol (upstream
writes an empty port set nft refuses), and ingress sources of the other address family
than their `to:` are left out (such a rule could never match).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..config import (
    EXTERNAL,
    PRIVATE_PRIMARY_SHARED,
    PRIVATE_PRIMARY_UNSHARED,
    PRIVATE_SECONDARY_SHARED,
    FirewallRule,
    InstallConfig,
    IPAddress,
    Network,
    Prefix,
)
from .plan import NetworkPlan

HEADER = "# written by the metal-images installer from /etc/metal/install.yaml; do not edit\n"
DROP_LOG_PREFIX = "nftables-metal-dropped: "
# droptailer ships what is logged with this prefix; the rate limit keeps a flood cheap
LOG_DROP = f'limit rate 2/minute counter log prefix "{DROP_LOG_PREFIX}"'
FORWARD_POLICIES = ("drop", "accept")
NFT_COMMENT_MAX = 128  # bytes
# metal-stack's underlay (VTEP loopbacks of leaves and firewalls) lives in 10.0.0.0/8
UNDERLAY_AGGREGATE = "10.0.0.0/8"
NODE_EXPORTER_PORT = 9100
NFTABLES_EXPORTER_PORT = 9630
# The DNS proxy: queries of the private networks to these resolvers are redirected to the
# proxy on the firewall's address in the default-route network, in their own conntrack
# zone (leaking between VRFs otherwise registers the flow twice).
PROXY_DNS_V4 = ("8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1")
PROXY_DNS_V6 = (
    "2001:4860:4860::8888", "2001:4860:4860::8844", "2606:4700:4700::1111", "2606:4700:4700::1001",
)
DNS_PROXY_ZONE = 3
PRIVATE_TYPES = (PRIVATE_PRIMARY_UNSHARED, PRIVATE_PRIMARY_SHARED, PRIVATE_SECONDARY_SHARED)


@dataclass(frozen=True)
class Options:
    """What metal-networker takes from its caller, not from install.yaml. The installer
    uses the defaults (as os-installer does); firewall-controller later re-renders with
    the DNS proxy and, for cluster-managed firewalls, forward policy accept."""

    forward_policy: str = "drop"
    dns_proxy: bool = False

    def __post_init__(self) -> None:
        if self.forward_policy not in FORWARD_POLICIES:
            raise ValueError(f"forward policy {self.forward_policy!r} is not one of {FORWARD_POLICIES}")


@dataclass(frozen=True)
class DNSProxy:
    family: str  # ip | ip6
    address: IPAddress  # the proxy: the firewall's address in the default-route network
    svis: List[str]  # where the private networks' queries come in


def _family(version: int) -> str:
    return "ip" if version == 4 else "ip6"


def _quoted(names: List[str], sep: str = ", ") -> str:
    return "{ " + sep.join(f'"{name}"' for name in names) + " }"


def _why(rule: str, comment: str) -> str:
    """A rule with its comment: config.py refuses " and \\ in rule comments; nft takes at
    most 128 bytes (cut at a character boundary)."""
    text = comment.encode("utf-8")[:NFT_COMMENT_MAX].decode("utf-8", errors="ignore")
    return f'{rule} comment "{text}"'


def _private_vrfs(config: InstallConfig) -> List[str]:
    return [n.vrf_name for n in config.of_type(*PRIVATE_TYPES)]


def _dns_proxy(config: InstallConfig) -> Optional[DNSProxy]:
    target = config.default_route_network
    if target is None or not target.ips:
        return None
    address = target.ips[0]
    svis = [f"vlan{n.vrf}" for n in config.of_type(*PRIVATE_TYPES)]
    return DNSProxy(_family(address.version), address, svis)


def _input(config: InstallConfig, plan: NetworkPlan, proxy: Optional[DNSProxy]) -> List[str]:
    rules = [
        "type filter hook input priority 0; policy drop;",
        _why("meta l4proto ipv6-icmp counter accept", "neighbour discovery and other ICMPv6"),
        _why('iifname "lo" counter accept', "local traffic, BGP unnumbered included"),
    ]
    for uplink in plan.uplinks:
        rules.append(_why(f'iifname "{uplink.name}" ip6 saddr fe80::/64 tcp dport bgp counter accept',
                          f"BGP unnumbered from the leaf on {uplink.name}"))
    for uplink in plan.uplinks:
        vxlan = f'iifname "{uplink.name}" ip saddr {UNDERLAY_AGGREGATE} udp dport 4789 counter accept'
        rules.append(_why(vxlan, f"VXLAN from the underlay on {uplink.name}"))
    rules.append(_why("ct state established,related counter accept", "answers to our own connections"))
    if proxy is not None:
        source = "10.0.0.0/8" if proxy.family == "ip" else "fd00::/8"
        for proto in ("tcp", "udp"):
            rules.append(_why(f"{proxy.family} saddr {source} {proto} dport domain "
                              f"{proxy.family} daddr {proxy.address} accept", "the DNS proxy"))
    if config.vpn is not None:
        rules.append(_why('iifname "tailscale*" accept', "with a VPN, SSH and the rest only through it"))
    else:
        rules.append(_why("tcp dport ssh ct state new counter accept", "SSH"))
    for vrf in _private_vrfs(config):
        rules.append(_why(f'iifname "{vrf}" tcp dport {NODE_EXPORTER_PORT} counter accept',
                          "node exporter, from the private networks"))
        rules.append(_why(f'iifname "{vrf}" tcp dport {NFTABLES_EXPORTER_PORT} counter accept',
                          "nftables exporter, from the private networks"))
    rules += [_why("ct state invalid counter drop", "invalid packets"), "counter jump refuse"]
    return rules


def _ports(rule: FirewallRule) -> str:
    if not rule.ports:
        return f"meta l4proto {rule.protocol}"
    return f"{rule.protocol} dport {{ {','.join(str(p) for p in rule.ports)} }}"


def _egress(rule: FirewallRule, vrfs: List[str]) -> List[str]:
    """One rule per destination, entering from any private network's VRF."""
    return [
        _why(f"iifname {_quoted(vrfs, ',')} {_family(to.version)} daddr {to} {_ports(rule)} counter accept",
             rule.comment)
        for to in rule.destinations
    ]


def _ingress(rule: FirewallRule, primary: Optional[Network]) -> List[str]:
    """One rule per source, towards the rule's `to:` or the private primary network."""
    if rule.destinations:
        family = _family(rule.destinations[0].version)  # metal-api refuses mixed families in `to`
        target = f"{family} daddr {{ {', '.join(str(p) for p in rule.destinations)} }}"
        sources = [p for p in rule.sources if _family(p.version) == family]
    elif primary is not None:
        target = "oifname " + _quoted([primary.vrf_name, f"vni{primary.vrf}", f"vlan{primary.vrf}"])
        sources = list(rule.sources)
    else:
        return []
    return [
        _why(f"{target} {_family(src.version)} saddr {src} {_ports(rule)} counter accept", rule.comment)
        for src in sources
    ]


def _forward(config: InstallConfig, options: Options) -> List[str]:
    rules = [
        f"type filter hook forward priority 0; policy {options.forward_policy};",
        _why("ct state invalid counter drop", "invalid packets"),
        _why("ct state established,related counter accept", "established flows"),
        _why("tcp dport bgp ct state new counter jump refuse", "no BGP sessions to the machines behind"),
    ]
    vrfs = _private_vrfs(config)
    for rule in config.firewall_rules.egress:
        rules += _egress(rule, vrfs)
    for rule in config.firewall_rules.ingress:
        rules += _ingress(rule, config.primary)
    if options.forward_policy == "drop":
        rules.append(LOG_DROP)
    return rules


def _output(plan: NetworkPlan) -> List[str]:
    rules = [
        "type filter hook output priority 0; policy accept;",
        _why("meta l4proto ipv6-icmp counter accept", "neighbour discovery and other ICMPv6"),
        _why('oifname "lo" counter accept', "local traffic (chrony, the DNS proxy, ...)"),
    ]
    for uplink in plan.uplinks:
        rules.append(_why(f'oifname "{uplink.name}" ip6 saddr fe80::/64 tcp dport bgp counter accept',
                          f"BGP unnumbered to the leaf on {uplink.name}"))
    rules += [
        _why(f"ip daddr {UNDERLAY_AGGREGATE} udp dport 4789 counter accept", "VXLAN into the underlay"),
        _why("ct state established,related counter accept", "established flows"),
        _why("ct state invalid counter drop", "invalid packets"),
    ]
    return rules


def _zone_rules(proxy: Optional[DNSProxy], direction: str, port: str) -> List[str]:
    if proxy is None:
        return []
    return [
        f'{direction} "{svi}" {proto} {port} domain ct zone set {DNS_PROXY_ZONE}'
        for svi in proxy.svis
        for proto in ("tcp", "udp")
    ]


def _snat_sources(config: InstallConfig) -> List[Prefix]:
    """The private primary network's prefixes and the DMZ networks' (metal-networker)."""
    primary = config.primary
    sources = list(primary.prefixes) if primary is not None else []
    return sources + [p for n in config.networks if n.dmz for p in n.prefixes]


def _postrouting(config: InstallConfig, proxy: Optional[DNSProxy]) -> List[str]:
    rules = ["type nat hook postrouting priority 0; policy accept;"]
    sources = _snat_sources(config)
    target = config.default_route_network
    for net in config.of_type(*PRIVATE_TYPES, EXTERNAL):
        if not net.nat:
            continue
        # with the DNS proxy on, its own answers to the private networks keep their source
        keep = proxy if proxy is not None and target is not None and net.vrf == target.vrf else None
        for src in sources:
            family = _family(src.version)
            match = f'oifname "vlan{net.vrf}" {family} saddr {src}'
            if keep is not None and keep.family == family:
                match += f" {family} daddr != {keep.address}"
            rules.append(_why(f"{match} counter masquerade random", f"snat (networkid: {net.networkid})"))
    return rules


def _prerouting(proxy: Optional[DNSProxy]) -> List[str]:
    rules = ["type nat hook prerouting priority 0; policy accept;"]
    if proxy is None:
        return rules
    servers = "@proxy_dns_servers" if proxy.family == "ip" else "@proxy_dns_servers_v6"
    for svi in proxy.svis:
        for proto in ("tcp", "udp"):
            rule = f'{proxy.family} daddr {servers} iifname "{svi}" {proto} dport domain'
            rules.append(_why(f"{rule} dnat {proxy.family} to {proxy.address}", "to the DNS proxy"))
    return rules


def _chain(name: str, rules: List[str]) -> str:
    return f"\tchain {name} {{\n" + "".join(f"\t\t{rule}\n" for rule in rules) + "\t}\n"


def _set(name: str, kind: str, elements: Tuple[str, ...]) -> str:
    return (
        f"\tset {name} {{\n\t\ttype {kind}\n\t\tflags interval\n\t\tauto-merge\n"
        f"\t\telements = {{ {', '.join(elements)} }}\n\t}}\n"
    )


def rejected_lines(output: str) -> List[str]:
    """nft's complaints (`<file>:<line>:<col>: Error: ...`) without the source excerpt
    and caret lines it prints under each."""
    return [line.strip() for line in output.splitlines() if ": Error: " in line]


def render(config: InstallConfig, plan: NetworkPlan, options: Options = Options()) -> str:
    proxy = _dns_proxy(config) if options.dns_proxy else None
    metal = [
        _chain("input", _input(config, plan, proxy)),
        _chain("forward", _forward(config, options)),
        _chain("output", _output(plan)),
        _chain("output_ct", ["type filter hook output priority raw; policy accept;",
                             *_zone_rules(proxy, "oifname", "sport")]),
        _chain("refuse", [LOG_DROP, "counter drop"]),
    ]
    nat = [_set("proxy_dns_servers", "ipv4_addr", PROXY_DNS_V4)]
    if proxy is not None and proxy.family == "ip6":
        nat.append(_set("proxy_dns_servers_v6", "ipv6_addr", PROXY_DNS_V6))
    nat += [
        _chain("prerouting", _prerouting(proxy)),
        _chain("prerouting_ct", ["type filter hook prerouting priority raw; policy accept;",
                                 *_zone_rules(proxy, "iifname", "dport")]),
        _chain("input", ["type nat hook input priority 0; policy accept;"]),
        _chain("output", ["type nat hook output priority 0; policy accept;"]),
        _chain("postrouting", _postrouting(config, proxy)),
    ]
    return (
        HEADER
        + "table inet metal {\n" + "".join(metal) + "}\n"
        + "table inet nat {\n" + "".join(nat) + "}\n"
    )
