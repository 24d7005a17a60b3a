"""Hostname, /etc/hosts and chrony for firewalls: the non-routing part of the network."""

from __future__ import annotations

from typing import List

from ..config import InstallConfig
from .plan import NetworkPlan

HEADER = "# written by the metal-images installer from /etc/metal/install.yaml; do not edit\n"


def hostname(plan: NetworkPlan) -> str:
    return f"{plan.hostname}\n"


def hosts(config: InstallConfig) -> str:
    """As metal-networker and os-installer write it: localhost, and the host name on the
    first address of the private primary network (the one the cluster knows it by; on a
    firewall not the underlay loopback)."""
    lines = ["127.0.0.1\tlocalhost"]
    primary = config.primary
    if primary is not None and primary.ips:
        lines.append(f"{primary.ips[0]}\t{config.hostname}")
    return HEADER + "\n".join(lines) + "\n"


def chrony_unit(plan: NetworkPlan) -> List[str]:
    """The chrony@<vrf> instance to enable (empty when there is no internet VRF)."""
    internet = plan.internet
    return [f"chrony@{internet.vrf_name}.service"] if internet is not None else []
