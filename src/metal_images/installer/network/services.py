"""The firewall's own services, rendered from install.yaml as metal-networker does
(contract 6.2): which VRF a service runs in depends on the networks, so the image cannot
ship these units ready-made.

- droptailer.service (tenant VRF): ships the packets nftables logged with the
  `nftables-metal-dropped: ` / `nftables-firewall-dropped: ` prefixes to the cluster's
  droptailer server, with the client certificate firewall-controller writes to
  /etc/droptailer-client/; started with firewall-controller (WantedBy=), which the
  userdata enables;
- firewall-controller.service (in the VRF of the default-route network: the internet, or
  a DMZ for an app firewall without one): rendered, not enabled (the userdata does);
- node-exporter.service and nftables-exporter.service: outside any VRF on their
  default ports (9100, 9630); the nftables input chain admits them only from the private
  networks' VRFs;
- suricata-update.service (default-route VRF, where the rule sources are reachable) and
  /etc/default/suricata (suricata watches that network's SVI);
- tailscaled.service + tailscale-up.service when install.yaml has `vpn:` (tailscaled in
  the default-route VRF on a fixed port, without log upload; the node joins named after the
  machine UUID). The pre-auth key is on tailscale-up's command line, as metal-networker
  puts it; the unit file is root-only (0600), as install.yaml itself is (metal-hammer
  writes it 0600), though `systemctl show` still shows the command line to local users.

Units are enabled as metal-networker enables them. A unit whose program the image lacks
(a firewall built without its downloads) gets a drop-in with ConditionFileIsExecutable=,
so it skips itself instead of failing at boot; the unit itself stays as upstream's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..config import InstallConfig, Network
from .plan import NetworkPlan

UNIT_DIR = "/etc/systemd/system"
HEADER = "# written by the metal-images installer from /etc/metal/install.yaml; do not edit\n"
TAILSCALED_PORT = 41641
# droptailer-client reads these; firewall-controller writes the certificate files
DROPTAILER_SERVER = "droptailer:50051"
DROP_PREFIXES = ("nftables-metal-dropped: ", "nftables-firewall-dropped: ")
DROPTAILER_CERT_DIR = "/etc/droptailer-client"
# the programs the units start (downloads: droptailer-client, firewall-controller, tailscale,
# nftables-exporter; the image links Ubuntu's node exporter to node_exporter)
DROPTAILER = "/usr/local/bin/droptailer-client"
FIREWALL_CONTROLLER = "/usr/local/bin/firewall-controller"
NODE_EXPORTER = "/usr/local/bin/node_exporter"
NFTABLES_EXPORTER = "/usr/bin/nftables-exporter"
SURICATA_UPDATE = "/usr/bin/suricata-update"
TAILSCALED = "/usr/local/bin/tailscaled"
TAILSCALE = "/usr/local/bin/tailscale"

Section = List[Tuple[str, str]]


@dataclass(frozen=True)
class RenderedFile:
    content: str
    mode: int = 0o644


@dataclass
class FirewallServices:
    files: Dict[str, RenderedFile] = field(default_factory=dict)
    enable: List[str] = field(default_factory=list)
    programs: Dict[str, str] = field(default_factory=dict)  # unit -> the program it starts


def skip_without_program(unit: str, program: str) -> Tuple[str, RenderedFile]:
    """The drop-in that makes `unit` skip itself while `program` is missing."""
    content = (
        f"# written by the metal-images installer: {program} is not in this image (a download\n"
        "# left out of the build), so the unit skips itself instead of failing\n"
        f"[Unit]\nConditionFileIsExecutable={program}\n"
    )
    return f"{UNIT_DIR}/{unit}.d/10-needs-program.conf", RenderedFile(content)


def _in_vrf(network: Optional[Network], command: str, ip: str = "/bin/ip") -> str:
    """`ip vrf exec` binds the command's sockets to the VRF; without one it runs as is."""
    return f"{ip} vrf exec {network.vrf_name} {command}" if network is not None else command


def _unit(unit: Section, service: Section, wanted_by: str = "multi-user.target") -> str:
    def section(name: str, entries: Section) -> str:
        return f"[{name}]\n" + "".join(f"{key}={value}\n" for key, value in entries)

    install: Section = [("WantedBy", wanted_by)]
    parts = [section("Unit", unit), section("Service", service), section("Install", install)]
    return HEADER + "\n".join(parts)


def droptailer(config: InstallConfig) -> str:
    prefixes = ",".join(DROP_PREFIXES)
    return _unit(
        [("Description", "Droptailer: sends the packets nftables dropped to the cluster"),
         ("After", "network.target")],
        [
            ("LimitMEMLOCK", "infinity"),
            ("Environment", f"DROPTAILER_SERVER_ADDRESS={DROPTAILER_SERVER}"),
            ("Environment", f'DROPTAILER_PREFIXES_OF_DROPS="{prefixes}"'),
            ("Environment", f"DROPTAILER_CLIENT_CERTIFICATE={DROPTAILER_CERT_DIR}/droptailer-client.crt"),
            ("Environment", f"DROPTAILER_CLIENT_KEY={DROPTAILER_CERT_DIR}/droptailer-client.key"),
            ("ExecStart", _in_vrf(config.primary, DROPTAILER)),
            ("Restart", "always"),
            ("RestartSec", "10"),
        ],
        wanted_by="firewall-controller.service",
    )


def firewall_controller(config: InstallConfig) -> str:
    return _unit(
        [("Description", "Firewall controller: nftables rules and services from the cluster's resources"),
         ("After", "network.target")],
        [
            ("LimitMEMLOCK", "infinity"),
            ("Environment", "KUBECONFIG=/etc/firewall-controller/.kubeconfig"),
            ("ExecStart", _in_vrf(config.default_route_network, FIREWALL_CONTROLLER)),
            ("Restart", "always"),
            ("RestartSec", "10"),
        ],
    )


def _exporter(description: str, command: str) -> str:
    return _unit(
        [("Description", description), ("After", "network.target")],
        [("ExecStart", command), ("Restart", "always"), ("RestartSec", "30")],
    )


def node_exporter() -> str:
    return _exporter("Prometheus node exporter", f"{NODE_EXPORTER} --collector.tcpstat")


def nftables_exporter() -> str:
    return _exporter("Prometheus exporter of the nftables counters",
                     f"{NFTABLES_EXPORTER} --config=/etc/nftables_exporter.yaml")


def suricata_update(config: InstallConfig) -> str:
    return _unit(
        [("Description", "Suricata rules update")],
        [
            ("LimitMEMLOCK", "infinity"),
            ("User", "root"),
            ("Group", "root"),
            ("Type", "oneshot"),
            ("ExecStart", _in_vrf(config.default_route_network, SURICATA_UPDATE)),
        ],
    )


def suricata_defaults(config: InstallConfig, plan: NetworkPlan) -> str:
    """/etc/default/suricata in the Debian package's format (the image's suricata.service
    reads SURCONF, IFACE and PIDFILE from it)."""
    internet = config.default_route_network
    fallback = plan.uplinks[0].name if plan.uplinks else "lan0"
    iface = f"vlan{internet.vrf}" if internet is not None else fallback
    settings = [
        ("RUN", "yes"),
        ("RUN_AS_USER", ""),
        ("SURCONF", "/etc/suricata/suricata.yaml"),
        ("LISTENMODE", "af-packet"),
        ("IFACE", iface),  # the internet network's SVI: what suricata watches
        ("NFQUEUE", '"-q 0"'),
        ("CUSTOM_NFQUEUE", '"-q 0 -q 1 -q 2 -q 3"'),
        ("PIDFILE", "/var/run/suricata.pid"),
    ]
    return HEADER + "".join(f"{key}={value}\n" for key, value in settings)


def tailscale(config: InstallConfig) -> Dict[str, RenderedFile]:
    assert config.vpn is not None
    internet = config.default_route_network
    daemon = _unit(
        [("Description", "Tailscale node agent (VPN access to this firewall)"),
         ("After", "network.target")],
        [
            ("LimitMEMLOCK", "infinity"),
            ("User", "root"),
            ("Group", "root"),
            ("Type", "notify"),
            ("Environment", '"TS_NO_LOGS_NO_SUPPORT=true"'),  # no log upload to tailscale's servers
            # (as metal-networker: systemd finds a bare `ip` itself)
            ("ExecStartPre", _in_vrf(internet, f"{TAILSCALED} --cleanup", ip="ip")),
            ("ExecStart", _in_vrf(internet, f"{TAILSCALED} --port {TAILSCALED_PORT}")),
            ("ExecStopPost", _in_vrf(internet, f"{TAILSCALED} --cleanup", ip="ip")),
            ("Restart", "on-failure"),
            ("RuntimeDirectory", "tailscale"),
            ("RuntimeDirectoryMode", "0755"),
            ("StateDirectory", "tailscale"),
            ("StateDirectoryMode", "0700"),
            ("CacheDirectory", "tailscale"),
            ("CacheDirectoryMode", "0750"),
        ],
    )
    node_name = config.machineuuid or config.hostname
    join = _unit(
        [("Description", "Join the VPN with the pre-auth key from install.yaml"),
         ("After", "tailscaled.service")],
        [
            ("LimitMEMLOCK", "infinity"),
            ("User", "root"),
            ("Group", "root"),
            # config.py admits only [A-Za-z0-9.:/_~-] in the address and the key: nothing
            # systemd expands or splits
            ("ExecStart", _in_vrf(internet, f"{TAILSCALE} up --hostname {node_name} "
                                  f"--auth-key {config.vpn.auth_key} --login-server {config.vpn.address}")),
            ("Restart", "on-failure"),
        ],
    )
    return {
        f"{UNIT_DIR}/tailscaled.service": RenderedFile(daemon),
        # it holds the pre-auth key
        f"{UNIT_DIR}/tailscale-up.service": RenderedFile(join, 0o600),
    }


def render(config: InstallConfig, plan: NetworkPlan) -> FirewallServices:
    result = FirewallServices()
    units = {
        "droptailer.service": (droptailer(config), DROPTAILER),
        "firewall-controller.service": (firewall_controller(config), FIREWALL_CONTROLLER),
        "nftables-exporter.service": (nftables_exporter(), NFTABLES_EXPORTER),
        "node-exporter.service": (node_exporter(), NODE_EXPORTER),
        "suricata-update.service": (suricata_update(config), SURICATA_UPDATE),
    }
    for name, (content, program) in units.items():
        result.files[f"{UNIT_DIR}/{name}"] = RenderedFile(content)
        result.programs[name] = program
    result.files["/etc/default/suricata"] = RenderedFile(suricata_defaults(config, plan))
    # droptailer and firewall-controller are left to the userdata, as upstream
    result.enable += ["nftables-exporter.service", "node-exporter.service", "suricata-update.service"]
    if config.vpn is not None:
        result.files.update(tailscale(config))
        result.programs.update({"tailscaled.service": TAILSCALED, "tailscale-up.service": TAILSCALE})
        result.enable += ["tailscaled.service", "tailscale-up.service"]
    return result
