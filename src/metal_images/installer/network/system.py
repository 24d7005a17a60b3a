"""Hostname, /etc/hosts and chrony for firewalls: the non-routing part of the network."""

from __future__ import annotations

from typing import List

from .plan import NetworkPlan


def hostname(plan: NetworkPlan) -> str:
    return f"{plan.hostname}\n"


def hosts(plan: NetworkPlan) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{ip}\t{plan.hostname}" for ip in plan.loopback_ips[:1]]
    lines += ["ff02::1\tip6-allnodes", "ff02::2\tip6-allrouters"]
    return "\n".join(lines) + "\n"


def chrony_unit(plan: NetworkPlan) -> List[str]:
    """The chrony@<vrf> instance to enable (empty when there is no internet VRF)."""
    internet = plan.internet
    return [f"chrony@{internet.vrf_name}.service"] if internet is not None else []
