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


# os-installer's default when install.yaml has no ntp_servers
DEFAULT_TIME_SERVER = "time.cloudflare.com"
CHRONY_SETTINGS = (
    "keyfile /etc/chrony/chrony.keys",
    "driftfile /var/lib/chrony/chrony.drift",
    "logdir /var/log/chrony",
    "maxupdateskew 100.0",
    "rtcsync",  # the kernel copies the system time to the RTC every 11 minutes
    "makestep 1 3",  # step, not slew, if off by more than 1 s during the first 3 updates
)


def chrony_conf(servers: List[str]) -> str:
    """The firewall's /etc/chrony/chrony.conf as os-installer writes it (chrony runs as
    chrony@<vrf> in the default-route VRF); servers are host names or IPs (config.py)."""
    pools = [f"pool {server} iburst" for server in (servers or [DEFAULT_TIME_SERVER])]
    return HEADER + "\n".join([*pools, *CHRONY_SETTINGS]) + "\n"


def chrony_unit(config: InstallConfig) -> List[str]:
    """The chrony@<vrf> instance to enable: in the default-route network's VRF, where the
    time servers are reachable (empty without one)."""
    internet = config.default_route_network
    return [f"chrony@{internet.vrf_name}.service"] if internet is not None else []
