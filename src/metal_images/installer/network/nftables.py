"""/etc/nftables/rules for firewalls: forward policy drop, firewall_rules, NAT.

The image's /etc/nftables.conf flushes the ruleset and includes /etc/nftables/*; this is
the file metal-networker owns. Egress rules allow traffic from the tenant networks
(their SVIs) to `to` prefixes, ingress rules allow traffic from `from` prefixes into the
tenant networks; everything else forwarded is dropped. External networks with `nat: true`
masquerade the tenant prefixes.
"""

from __future__ import annotations

from typing import List

from ..config import FirewallRule, InstallConfig
from .plan import NetworkPlan

HEADER = "# written by the metal-images installer from /etc/metal/install.yaml; do not edit\n"


def _set(items: List[str]) -> str:
    return "{ " + ", ".join(items) + " }"


def _comment(text: str) -> str:
    clean = text.replace('"', "'").replace("\\", "/").strip()
    return f' comment "{clean}"' if clean else ""


def _rule_lines(rule: FirewallRule, interfaces: List[str], egress: bool) -> List[str]:
    direction = "iifname" if egress else "oifname"
    addr_key = "daddr" if egress else "saddr"
    quoted = ['"' + name + '"' for name in interfaces]
    base = f"{direction} {_set(quoted)}"
    ports = (
        f" {rule.protocol} dport {_set([str(p) for p in rule.ports])}"
        if rule.ports
        else (f" meta l4proto {rule.protocol}")
    )
    lines = []
    families = [(4, "ip"), (6, "ip6")]
    if not rule.addresses:
        lines.append(f"{base}{ports} counter accept{_comment(rule.comment)}")
    for version, family in families:
        addrs = [str(a) for a in rule.addresses if a.version == version]
        if addrs:
            match = f"{family} {addr_key} {_set(addrs)}"
            lines.append(f"{base} {match}{ports} counter accept{_comment(rule.comment)}")
    return lines


def render(config: InstallConfig, plan: NetworkPlan) -> str:
    tenants = [e.svi_name for e in plan.private]
    forward = [
        "type filter hook forward priority 0; policy drop;",
        'ct state invalid counter drop comment "drop invalid packets"',
        'ct state established,related counter accept comment "allow established connections"',
    ]
    if tenants:
        for rule in config.firewall_rules.egress:
            forward += _rule_lines(rule, tenants, egress=True)
        for rule in config.firewall_rules.ingress:
            forward += _rule_lines(rule, tenants, egress=False)
    text = HEADER + "table inet metal {\n"
    text += "\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t}\n"
    text += "\tchain forward {\n" + "".join(f"\t\t{line}\n" for line in forward) + "\t}\n}\n"
    sources = [str(p) for e in plan.private for p in e.network.prefixes if p.version == 4]
    nat = [
        f'oifname "{e.svi_name}" ip saddr {_set(sources)} counter masquerade'
        f"{_comment(f'masquerade tenant networks to {e.vrf_name}')}"
        for e in plan.evpn
        if e.network.external and e.network.nat and sources
    ]
    if nat:
        text += "table ip metal-nat {\n\tchain postrouting {\n"
        text += "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
        text += "".join(f"\t\t{line}\n" for line in nat) + "\t}\n}\n"
    return text
