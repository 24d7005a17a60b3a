"""systemd-networkd files as metal-networker writes them (pkg/netconf/tpl/networkd).

- 00-lo.network: 127.0.0.1/8 and the loopback addresses (machine: the primary network's
  and the external networks' IPs; firewall: the underlay's) as host routes.
- 1<i>-lan<i>.link / .network: uplinks matched by PermanentMACAddress (a VLAN or bridge
  on top inherits the current MAC, never the permanent one, so nothing else is renamed),
  MTU 9000 on machines and 9216 on firewalls (the VXLAN devices on top carry 9000-byte
  frames plus 50 bytes of encapsulation); no router advertisements accepted (BGP brings
  the routes). On firewalls every uplink lists the VXLAN devices (`VXLAN=`), which makes
  networkd create them on top of the first uplink: the FDB entries EVPN installs carry
  no device, so the encapsulated traffic is still routed over both uplinks.
- 20-bridge: the VLAN-aware bridge of the EVPN VXLANs and SVIs.
- 3<i>-vrf/svi/vxlan-<vrf>: per non-underlay network a VRF (table 1000 + position),
  an SVI `vlan<vrf>` in that VRF with the network's IPs as /32 (/128), and a VXLAN device
  `vni<vrf>` with the underlay IP as local tunnel endpoint, bridged with PVID = VLAN id.
"""

from __future__ import annotations

from typing import Dict, List

from .plan import MTU, EVPNNetwork, NetworkPlan, host_prefix

HEADER = "# written by the metal-images installer from /etc/metal/install.yaml; do not edit\n"
DIR = "/etc/systemd/network"
VXLAN_PORT = 4789


def _file(*sections: str) -> str:
    return HEADER + "\n".join(s.rstrip("\n") + "\n" for s in sections)


def loopback(plan: NetworkPlan) -> str:
    addresses = ["127.0.0.1/8"] + [host_prefix(ip) for ip in plan.loopback_ips]
    return _file("[Match]\nName=lo\n", *(f"[Address]\nAddress={a}\n" for a in addresses))


def uplink_link(plan: NetworkPlan, name: str, mac: str) -> str:
    return _file(
        f"[Match]\nPermanentMACAddress={mac}\n",
        f"[Link]\nName={name}\nNamePolicy=\nMTUBytes={plan.uplink_mtu}\n",
    )


def uplink_network(plan: NetworkPlan, name: str) -> str:
    vxlans = "".join(f"VXLAN={e.vxlan_name}\n" for e in plan.evpn)
    return _file(f"[Match]\nName={name}\n", f"[Network]\nIPv6AcceptRA=no\n{vxlans}")


def bridge_netdev() -> str:
    return _file(
        f"[NetDev]\nName=bridge\nKind=bridge\nMTUBytes={MTU}\n",
        "[Bridge]\nDefaultPVID=none\nVLANFiltering=yes\n",
    )


def bridge_network(evpn: List[EVPNNetwork]) -> str:
    network = "[Network]\n" + "".join(f"VLAN={e.svi_name}\n" for e in evpn)
    vlans = [f"[BridgeVLAN]\nVLAN={e.vlan_id}\n" for e in evpn]
    return _file("[Match]\nName=bridge\n", network, *vlans)


def vrf_netdev(e: EVPNNetwork) -> str:
    return _file(f"[NetDev]\nName={e.vrf_name}\nKind=vrf\n", f"[VRF]\nTable={e.table}\n")


def vrf_network(e: EVPNNetwork) -> str:
    return _file(f"[Match]\nName={e.vrf_name}\n")


def svi_netdev(e: EVPNNetwork) -> str:
    return _file(f"[NetDev]\nName={e.svi_name}\nKind=vlan\n", f"[VLAN]\nId={e.vlan_id}\n")


def svi_network(e: EVPNNetwork) -> str:
    addresses = "".join(f"Address={host_prefix(ip)}\n" for ip in e.network.ips)
    return _file(
        f"[Match]\nName={e.svi_name}\n",
        f"[Link]\nMTUBytes={MTU}\n",
        f"[Network]\nVRF={e.vrf_name}\n{addresses}",
    )


def vxlan_netdev(e: EVPNNetwork, plan: NetworkPlan) -> str:
    return _file(
        f"[NetDev]\nName={e.vxlan_name}\nKind=vxlan\n",
        f"[VXLAN]\nVNI={e.vrf}\nLocal={plan.vtep_ip}\nUDPChecksum=true\nMacLearning=false\n"
        f"DestinationPort={VXLAN_PORT}\n",
    )


def vxlan_network(e: EVPNNetwork) -> str:
    return _file(
        f"[Match]\nName={e.vxlan_name}\n",
        f"[Link]\nMTUBytes={MTU}\n",
        "[Network]\nBridge=bridge\n",
        f"[BridgeVLAN]\nPVID={e.vlan_id}\nEgressUntagged={e.vlan_id}\n",
    )


def files(plan: NetworkPlan) -> Dict[str, str]:
    """In-image path -> content of every networkd file for the plan."""
    result: Dict[str, str] = {f"{DIR}/00-lo.network": loopback(plan)}
    for up in plan.uplinks:
        stem = f"{DIR}/{10 + up.index}-{up.name}"
        result[f"{stem}.link"] = uplink_link(plan, up.name, up.mac)
        result[f"{stem}.network"] = uplink_network(plan, up.name)
    if plan.role == "firewall":
        result[f"{DIR}/20-bridge.netdev"] = bridge_netdev()
        result[f"{DIR}/20-bridge.network"] = bridge_network(plan.evpn)
        for e in plan.evpn:
            prefix = f"{DIR}/{30 + e.index}"
            for kind, netdev, network in (
                ("vrf", vrf_netdev(e), vrf_network(e)),
                ("svi", svi_netdev(e), svi_network(e)),
                ("vxlan", vxlan_netdev(e, plan), vxlan_network(e)),
            ):
                result[f"{prefix}-{kind}-{e.vrf}.netdev"] = netdev
                result[f"{prefix}-{kind}-{e.vrf}.network"] = network
    return result
