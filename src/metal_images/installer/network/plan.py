"""What the network of this machine or firewall looks like, derived from install.yaml.

Pure functions of InstallConfig; the renderers (networkd, FRR, nftables, services) all
read this plan, so they agree on names and numbers as metal-networker computes them:
uplinks `lan<i>` in the order of install.yaml's `nics`; on firewalls one EVPN interface
set per non-underlay network, in install.yaml's order: VRF device `vrf<id>`, SVI
`vlan<id>`, VXLAN device `vni<id>` (VNI = VRF id); VRF table and VLAN id are 1000 + the
network's position in install.yaml's `networks` (the underlay's position counts too, so
the numbers have gaps where it stands); files are numbered 30 + the position among the
EVPN networks.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import List, Optional

from ..config import VLAN_OFFSET, InstallConfig, IPAddress, Network, Nic

MTU = 9000  # SVIs, VXLAN devices, the bridge; a machine's uplinks
MTU_FIREWALL_UPLINK = 9216  # VXLAN adds 50 bytes to the 9000 of the tenant's frames
TABLE_OFFSET = 1000
# metal-networker's bgp router-id when the network's first address is IPv6
ROUTER_ID_FOR_IPV6 = ipaddress.ip_address("169.254.255.255")


@dataclass(frozen=True)
class Uplink:
    index: int
    name: str
    mac: str


@dataclass(frozen=True)
class EVPNNetwork:
    """A firewall's tenant, shared or external network: VRF + VXLAN + SVI on the bridge."""

    index: int  # position among the EVPN networks (file numbers)
    position: int  # position in install.yaml's networks (VLAN id, VRF table)
    network: Network

    @property
    def vrf(self) -> int:
        return self.network.vrf

    @property
    def vrf_name(self) -> str:
        return self.network.vrf_name

    @property
    def svi_name(self) -> str:
        return f"vlan{self.network.vrf}"

    @property
    def vxlan_name(self) -> str:
        return f"vni{self.network.vrf}"

    @property
    def vlan_id(self) -> int:
        return VLAN_OFFSET + self.position

    @property
    def table(self) -> int:
        return TABLE_OFFSET + self.position


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
    default_vrf: Optional[int] = None  # VRF of metal-networker's default route network

    @property
    def uplink_mtu(self) -> int:
        return MTU_FIREWALL_UPLINK if self.role == "firewall" else MTU

    @property
    def internet(self) -> Optional[EVPNNetwork]:
        """The network carrying the default route (chrony, NAT and the firewall's services
        live there): metal-networker's GetDefaultRouteNetwork, else the first external."""
        chosen = [e for e in self.evpn if e.vrf == self.default_vrf]
        externals = [e for e in self.evpn if e.network.external]
        candidates = chosen or externals
        return candidates[0] if candidates else None

    @property
    def private(self) -> List[EVPNNetwork]:
        return [e for e in self.evpn if not e.network.external]


def _uplinks(nics: List[Nic]) -> List[Uplink]:
    return [Uplink(index=i, name=f"lan{i}", mac=nic.mac) for i, nic in enumerate(nics)]


def router_id(network: Network) -> IPAddress:
    """metal-networker: the network's first address, or 169.254.255.255 if it is IPv6."""
    first = network.ips[0]
    return first if first.version == 4 else ROUTER_ID_FOR_IPV6


def plan(config: InstallConfig) -> NetworkPlan:
    """Assumes config passed validate_networks() (a primary / an underlay exists)."""
    if config.role == "machine":
        primary = config.primary
        assert primary is not None
        # the primary's addresses and every external network's (e.g. a public IP) on lo
        loopback = list(primary.ips) + [ip for n in config.externals for ip in n.ips]
        return NetworkPlan(
            role="machine",
            hostname=config.hostname,
            asn=primary.asn,
            router_id=router_id(primary),
            loopback_ips=loopback,
            uplinks=_uplinks(config.nics),
            evpn=[],
            vtep_ip=None,
        )
    underlay = config.underlay
    assert underlay is not None
    positions = [i for i, n in enumerate(config.networks) if not n.underlay]
    default = config.default_route_network
    return NetworkPlan(
        role="firewall",
        hostname=config.hostname,
        asn=underlay.asn,
        router_id=router_id(underlay),
        loopback_ips=list(underlay.ips),
        uplinks=_uplinks(config.nics),
        evpn=[EVPNNetwork(index=i, position=p, network=config.networks[p]) for i, p in enumerate(positions)],
        vtep_ip=underlay.ips[0],
        default_vrf=default.vrf if default is not None else None,
    )


def host_prefix(ip: IPAddress) -> str:
    return f"{ip}/{ip.max_prefixlen}"
