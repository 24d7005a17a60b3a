"""What the network of this machine or firewall looks like, derived from install.yaml.

Pure functions of InstallConfig; the renderers (networkd, FRR, nftables) all read this
plan, so they agree on names: uplinks `lan<i>` in the order of install.yaml's `nics`, VRF
devices `vrf<id>`, SVIs `vlan<id>`, VXLAN devices `vni<id>`, VRF table and VLAN id
1000 + the network's position among the firewall's non-underlay networks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from ..config import InstallConfig, IPAddress, Network, Nic

MTU = 9000
VLAN_OFFSET = 1000
TABLE_OFFSET = 1000


@dataclass(frozen=True)
class Uplink:
    index: int
    name: str
    mac: str


@dataclass(frozen=True)
class EVPNNetwork:
    """A firewall's tenant or external network: VRF + VXLAN + SVI on the bridge."""

    index: int
    network: Network

    @property
    def vrf(self) -> int:
        return self.network.vrf

    @property
    def vrf_name(self) -> str:
        return f"vrf{self.network.vrf}"

    @property
    def svi_name(self) -> str:
        return f"vlan{self.network.vrf}"

    @property
    def vxlan_name(self) -> str:
        return f"vni{self.network.vrf}"

    @property
    def vlan_id(self) -> int:
        return VLAN_OFFSET + self.index

    @property
    def table(self) -> int:
        return TABLE_OFFSET + self.index


@dataclass(frozen=True)
class NetworkPlan:
    role: str
    hostname: str
    asn: int
    router_id: IPAddress
    loopback_ips: List[IPAddress]
    uplinks: List[Uplink]
    evpn: List[EVPNNetwork]
    vtep_ip: Optional[IPAddress]

    @property
    def internet(self) -> Optional[EVPNNetwork]:
        """The external network carrying the default route (chrony and NAT live there)."""
        externals = [e for e in self.evpn if e.network.external]
        with_default = [e for e in externals if e.network.default_route]
        candidates = with_default or externals
        return candidates[0] if candidates else None

    @property
    def private(self) -> List[EVPNNetwork]:
        return [e for e in self.evpn if not e.network.external]


def _uplinks(nics: List[Nic]) -> List[Uplink]:
    return [Uplink(index=i, name=f"lan{i}", mac=nic.mac) for i, nic in enumerate(nics)]


def plan(config: InstallConfig) -> NetworkPlan:
    """Assumes config passed validate_networks() (a primary / an underlay exists)."""
    if config.role == "machine":
        primary = config.primary
        assert primary is not None
        externals = [n for n in config.networks if n.external]
        loopback = list(primary.ips) + [ip for n in externals for ip in n.ips]
        router_id = next(ip for ip in primary.ips if ip.version == 4)
        return NetworkPlan(
            role="machine",
            hostname=config.hostname,
            asn=primary.asn,
            router_id=router_id,
            loopback_ips=loopback,
            uplinks=_uplinks(config.nics),
            evpn=[],
            vtep_ip=None,
        )
    underlay = config.underlay
    assert underlay is not None
    router_id = next(ip for ip in underlay.ips if ip.version == 4)
    tenant = [n for n in config.networks if not n.underlay]
    return NetworkPlan(
        role="firewall",
        hostname=config.hostname,
        asn=underlay.asn,
        router_id=router_id,
        loopback_ips=list(underlay.ips),
        uplinks=_uplinks(config.nics),
        evpn=[EVPNNetwork(index=i, network=n) for i, n in enumerate(tenant)],
        vtep_ip=router_id,
    )


def host_prefix(ip: IPAddress) -> str:
    return f"{ip}/{32 if ip.version == 4 else 128}"
