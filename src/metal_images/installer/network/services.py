"""The firewall's own services, rendered from install.yaml as metal-networker does
(contract 6.2): which VRF each one runs in and which address it listens on depend on
the networks, so the image cannot ship them ready-made.

- node-exporter.service: enabled; in the private primary network's VRF, on the
  firewall's address there (where the cluster's monitoring reaches it), port 9100;
- firewall-controller.service (internet VRF, follows the cluster's Firewall resource)
  and droptailer.service (private VRF, forwards dropped packets to the cluster):
  rendered, not enabled; the userdata enables them;
- tailscaled.service + tailscale-up.service when install.yaml has `vpn:`; the
  pre-auth key goes to a root-only environment file, not into the unit;
- /etc/default/suricata: suricata watches the internet network's interface.

Components that are downloads (firewall-controller, droptailer-client, tailscale) may
be missing from an image built without them; their units then skip themselves with a
Condition instead of failing, so such a firewall still boots into a clean state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..config import InstallConfig
from .plan import EVPNNetwork, NetworkPlan

UNIT_DIR = "/etc/systemd/system"
HEADER = "# written by the metal-images installer from /etc/metal/install.yaml; do not edit\n"
NODE_EXPORTER_PORT = 9100
TAILSCALE_ENV = "/etc/default/tailscale-up"


@dataclass(frozen=True)
class RenderedFile:
    content: str
    mode: int = 0o644


@dataclass
class FirewallServices:
    files: Dict[str, RenderedFile] = field(default_factory=dict)
    enable: List[str] = field(default_factory=list)


def _in_vrf(network: Optional[EVPNNetwork], command: str) -> str:
    """`ip vrf exec` binds the command's sockets to the VRF; without one it runs as is."""
    return f"/bin/ip vrf exec {network.vrf_name} {command}" if network is not None else command


def _unit(description: str, *, after: str, unit: List[str], service: List[str]) -> str:
    """A service unit; `unit` holds further [Unit] lines (conditions, dependencies)."""
    lines = [f"Description={description}", f"After={after}", *unit]
    return (
        HEADER
        + "[Unit]\n" + "".join(line + "\n" for line in lines)
        + "\n[Service]\n" + "".join(line + "\n" for line in service)
        + "\n[Install]\nWantedBy=multi-user.target\n"
    )


def _executable(path: str) -> str:
    return f"ConditionFileIsExecutable={path}"


def _private(plan: NetworkPlan) -> Optional[EVPNNetwork]:
    candidates = [e for e in plan.private if e.network.private_primary] or plan.private
    return candidates[0] if candidates else None


def node_exporter(plan: NetworkPlan) -> str:
    private = _private(plan)
    ipv4 = [ip for ip in private.network.ips if ip.version == 4] if private is not None else []
    address = f"{ipv4[0]}:{NODE_EXPORTER_PORT}" if ipv4 else f"{plan.router_id}:{NODE_EXPORTER_PORT}"
    binary = "/usr/local/bin/node_exporter"
    return _unit(
        "Prometheus node exporter on the firewall's private address",
        after="systemd-networkd.service",
        unit=[_executable(binary)],
        service=[
            # the address appears once networkd configured the VRF; until then: retry
            f"ExecStart={_in_vrf(private, binary)} --web.listen-address={address}",
            "Restart=always",
            "RestartSec=5",
        ],
    )


def firewall_controller(plan: NetworkPlan) -> str:
    binary = "/usr/local/bin/firewall-controller"
    kubeconfig = "/etc/firewall-controller/.kubeconfig"
    return _unit(
        "firewall-controller: nftables rules and services from the cluster's Firewall resource",
        after="systemd-networkd.service nftables.service",
        unit=[_executable(binary), f"ConditionPathExists={kubeconfig}"],
        service=[
            f"Environment=KUBECONFIG={kubeconfig}",
            "LimitMEMLOCK=infinity",
            f"ExecStart={_in_vrf(plan.internet, binary)}",
            "Restart=always",
            "RestartSec=10",
        ],
    )


def droptailer(plan: NetworkPlan) -> str:
    binary = "/usr/local/bin/droptailer-client"
    return _unit(
        "droptailer: sends the packets nftables dropped to the cluster",
        after="systemd-networkd.service nftables.service",
        unit=[_executable(binary)],
        service=[
            "Environment=DROPTAILER_SERVER_ADDRESS=droptailer:50051",
            "Environment=DROPTAILER_CLIENT_CERTIFICATES=/etc/droptailer-client",
            f"ExecStart={_in_vrf(_private(plan), binary)}",
            "Restart=always",
            "RestartSec=10",
        ],
    )


def tailscale(config: InstallConfig, plan: NetworkPlan) -> Dict[str, RenderedFile]:
    assert config.vpn is not None
    daemon = "/usr/local/bin/tailscaled"
    client = "/usr/local/bin/tailscale"
    tailscaled = _unit(
        "Tailscale node agent (VPN access to this firewall)",
        after="systemd-networkd.service",
        unit=[_executable(daemon)],
        service=[
            "ExecStartPre=" + _in_vrf(plan.internet, f"{daemon} --cleanup"),
            "ExecStart=" + _in_vrf(plan.internet, f"{daemon} --state=/var/lib/tailscale/tailscaled.state "
                                   "--socket=/run/tailscale/tailscaled.sock"),
            "ExecStopPost=" + _in_vrf(plan.internet, f"{daemon} --cleanup"),
            "RuntimeDirectory=tailscale",
            "StateDirectory=tailscale",
            "Restart=on-failure",
        ],
    )
    join = _unit(
        "Join the VPN with the pre-auth key from install.yaml",
        after="tailscaled.service",
        unit=["Requires=tailscaled.service", _executable(client)],
        service=[
            "Type=oneshot",
            "RemainAfterExit=yes",
            f"EnvironmentFile={TAILSCALE_ENV}",
            f"ExecStart={client} up --login-server=${{VPN_ADDRESS}} --auth-key=${{VPN_AUTHKEY}} "
            f"--hostname={plan.hostname} --accept-dns=false",
        ],
    )
    env = f"VPN_ADDRESS={config.vpn.address}\nVPN_AUTHKEY={config.vpn.auth_key}\n"
    return {
        f"{UNIT_DIR}/tailscaled.service": RenderedFile(tailscaled),
        f"{UNIT_DIR}/tailscale-up.service": RenderedFile(join),
        TAILSCALE_ENV: RenderedFile(env, 0o600),
    }


def suricata_defaults(plan: NetworkPlan) -> str:
    internet = plan.internet
    iface = internet.svi_name if internet is not None else (plan.uplinks[0].name if plan.uplinks else "lan0")
    return (
        HEADER
        + "# suricata.service reads these: the configuration, its pid file, the interface it watches\n"
        + "SURCONF=/etc/suricata/suricata.yaml\n"
        + "PIDFILE=/run/suricata.pid\n"
        + f"IFACE={iface}\n"
    )


def render(config: InstallConfig, plan: NetworkPlan) -> FirewallServices:
    result = FirewallServices()
    result.files[f"{UNIT_DIR}/node-exporter.service"] = RenderedFile(node_exporter(plan))
    result.files[f"{UNIT_DIR}/firewall-controller.service"] = RenderedFile(firewall_controller(plan))
    result.files[f"{UNIT_DIR}/droptailer.service"] = RenderedFile(droptailer(plan))
    result.files["/etc/default/suricata"] = RenderedFile(suricata_defaults(plan))
    result.enable.append("node-exporter.service")
    if config.vpn is not None:
        result.files.update(tailscale(config, plan))
        result.enable += ["tailscaled.service", "tailscale-up.service"]
    return result
