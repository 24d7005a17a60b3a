"""systemd-networkd files, laid out as metal-networker writes them (contract 6.2).

Uplinks are matched by PermanentMACAddress (a VLAN or bridge on top of lan0 inherits its
current MAC, never its permanent one, so it cannot be renamed by mistake). The line
`PermanentMACAddress=<mac>` also satisfies upstream's goss check, which only asks for a
line *containing* `MACAddress=<mac>`.

VXLAN devices are `Independent=yes` (not stacked on lan0 as upstream's `VXLAN=` lines
do): the VTEP address lives on lo and its traffic is routed over both uplinks (ECMP), so
binding the tunnel to one uplink would lose the other.
"""

from __future__ import annotations

from typing import Dict, List

from .plan import MTU, EVPNNetwork, NetworkPlan, host_prefix

HEADER = "# written by the metal-images installer from /etc/metal/install.yaml; do not edit\n"
DIR = "/etc/systemd/network"


def _file(*sections: str) -> str:
    return HEADER + "\n" + "\n".join(s.rstrip("\n") + "\n" for s in sections)


def loopback(plan: NetworkPlan) -> str:
    addresses = ["127.0.0.1/8"] + [host_prefix(ip) for ip in plan.loopback_ips]
    return _file("[Match]\nName=lo\n", *(f"[Address]\nAddress={a}\n" for a in addresses))


def uplink_link(name: str, mac: str) -> str:
    return _file(
        f"[Match]\nPermanentMACAddress={mac}\n", f"[Link]\nName={name}\nNamePolicy=\nMTUBytes={MTU}\n"
    )


def uplink_network(name: str) -> str:
    return _file(f"[Match]\nName={name}\n", "[Network]\nIPv6AcceptRA=no\nLinkLocalAddressing=ipv6\n")


def bridge_netdev() -> str:
    return _file(
        f"[NetDev]\nName=bridge\nKind=bridge\nMTUBytes={MTU}\n",
        "[Bridge]\nDefaultPVID=none\nVLANFiltering=yes\n",
    )


def bridge_network(evpn: List[EVPNNetwork]) -> str:
    network = "[Network]\nLinkLocalAddressing=no\n" + "".join(f"VLAN={e.svi_name}\n" for e in evpn)
    vlans = [f"[BridgeVLAN]\nVLAN={e.vlan_id}\n" for e in evpn]
    return _file("[Match]\nName=bridge\n", network, *vlans)


def vrf_netdev(e: EVPNNetwork) -> str:
    return _file(f"[NetDev]\nName={e.vrf_name}\nKind=vrf\n", f"[VRF]\nTable={e.table}\n")


def vrf_network(e: EVPNNetwork) -> str:
    return _file(f"[Match]\nName={e.vrf_name}\n", "[Network]\nLinkLocalAddressing=no\n")


def svi_netdev(e: EVPNNetwork) -> str:
    return _file(f"[NetDev]\nName={e.svi_name}\nKind=vlan\nMTUBytes={MTU}\n", f"[VLAN]\nId={e.vlan_id}\n")


def svi_network(e: EVPNNetwork) -> str:
    network = f"[Network]\nVRF={e.vrf_name}\nLinkLocalAddressing=no\n"
    addresses = [f"[Address]\nAddress={host_prefix(ip)}\n" for ip in e.network.ips]
    return _file(f"[Match]\nName={e.svi_name}\n", f"[Link]\nMTUBytes={MTU}\n", network, *addresses)


def vxlan_netdev(e: EVPNNetwork, plan: NetworkPlan) -> str:
    return _file(
        f"[NetDev]\nName={e.vxlan_name}\nKind=vxlan\nMTUBytes={MTU}\n",
        f"[VXLAN]\nVNI={e.vrf}\nLocal={plan.vtep_ip}\nDestinationPort=4789\nMacLearning=no\nIndependent=yes\n",
    )


def vxlan_network(e: EVPNNetwork) -> str:
    return _file(
        f"[Match]\nName={e.vxlan_name}\n",
        f"[Link]\nMTUBytes={MTU}\n",
        "[Network]\nBridge=bridge\nLinkLocalAddressing=no\n",
        f"[BridgeVLAN]\nPVID={e.vlan_id}\nEgressUntagged={e.vlan_id}\n",
    )


def files(plan: NetworkPlan) -> Dict[str, str]:
    """In-image path -> content of every networkd file for the plan."""
    result: Dict[str, str] = {f"{DIR}/00-lo.network": loopback(plan)}
    for up in plan.uplinks:
        stem = f"{DIR}/1{up.index}-{up.name}"
        result[f"{stem}.link"] = uplink_link(up.name, up.mac)
        result[f"{stem}.network"] = uplink_network(up.name)
    if plan.role == "firewall":
        result[f"{DIR}/20-bridge.netdev"] = bridge_netdev()
        result[f"{DIR}/20-bridge.network"] = bridge_network(plan.evpn)
        for e in plan.evpn:
            prefix = f"{DIR}/3{e.index}"
            result[f"{prefix}-vrf-{e.vrf}.netdev"] = vrf_netdev(e)
            result[f"{prefix}-vrf-{e.vrf}.network"] = vrf_network(e)
            result[f"{prefix}-svi-{e.vrf}.netdev"] = svi_netdev(e)
            result[f"{prefix}-svi-{e.vrf}.network"] = svi_network(e)
            result[f"{prefix}-vxlan-{e.vrf}.netdev"] = vxlan_netdev(e, plan)
            result[f"{prefix}-vxlan-{e.vrf}.network"] = vxlan_network(e)
    return result
