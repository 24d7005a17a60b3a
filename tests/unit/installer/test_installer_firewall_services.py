"""The firewall's services as the installer renders them from install.yaml (services.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metal_images.installer import config
from metal_images.installer.errors import InstallError
from metal_images.installer.network import services
from metal_images.installer.network.plan import plan

FIXTURES = Path(__file__).parent / "fixtures"
VPN = "vpn:\n  address: https://headscale.test.internal\n  auth_key: tskey-auth-secret\n  connected: false\n"


def render(extra: str = "", text: str | None = None) -> services.FirewallServices:
    base = text if text is not None else (FIXTURES / "install-firewall.yaml").read_text()
    parsed = config.parse(base + extra)
    return services.render(parsed, plan(parsed))


def exec_start(unit: str) -> str:
    return next(line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("ExecStart="))


def test_node_exporter_listens_on_the_private_address_inside_its_vrf() -> None:
    rendered = render()
    unit = rendered.files["/etc/systemd/system/node-exporter.service"].content
    assert exec_start(unit) == (
        "/bin/ip vrf exec vrf3981 /usr/local/bin/node_exporter --web.listen-address=10.0.16.2:9100"
    )
    assert "node-exporter.service" in rendered.enable
    assert "ConditionFileIsExecutable=/usr/local/bin/node_exporter" in unit


def test_controller_and_droptailer_are_rendered_but_left_to_the_userdata() -> None:
    rendered = render()
    controller = rendered.files["/etc/systemd/system/firewall-controller.service"].content
    droptailer = rendered.files["/etc/systemd/system/droptailer.service"].content
    assert exec_start(controller) == "/bin/ip vrf exec vrf104009 /usr/local/bin/firewall-controller"
    assert exec_start(droptailer) == "/bin/ip vrf exec vrf3981 /usr/local/bin/droptailer-client"
    # a firewall built without the downloads skips them instead of failing at boot
    assert "ConditionFileIsExecutable=/usr/local/bin/firewall-controller" in controller
    assert "ConditionPathExists=/etc/firewall-controller/.kubeconfig" in controller
    assert "ConditionFileIsExecutable=/usr/local/bin/droptailer-client" in droptailer
    assert "firewall-controller.service" not in rendered.enable
    assert "droptailer.service" not in rendered.enable
    for unit in (controller, droptailer):
        assert "[Install]\nWantedBy=multi-user.target\n" in unit


def test_suricata_watches_the_internet_svi() -> None:
    defaults = render().files["/etc/default/suricata"].content
    assert "IFACE=vlan104009\n" in defaults
    assert "SURCONF=/etc/suricata/suricata.yaml\n" in defaults and "PIDFILE=/run/suricata.pid\n" in defaults


def test_a_firewall_without_an_internet_network_is_refused() -> None:
    """metal-networker's Validate(): a firewall needs an external (or DMZ) network."""
    text = (FIXTURES / "install-firewall.yaml").read_text()
    start = text.index("  - asn: 4200003073\n    destinationprefixes: [0.0.0.0/0]")
    end = text.index("  - asn: 4200003073", start + 1)
    with pytest.raises(InstallError, match="a firewall needs an external network or a DMZ network"):
        render(text=text[:start] + text[end:])


def test_no_vpn_no_tailscale() -> None:
    rendered = render()
    assert not [path for path in rendered.files if "tailscale" in path]


def test_vpn_joins_with_the_key_kept_out_of_the_units() -> None:
    rendered = render(VPN)
    env = rendered.files["/etc/default/tailscale-up"]
    assert env.mode == 0o600
    assert env.content == "VPN_ADDRESS=https://headscale.test.internal\nVPN_AUTHKEY=tskey-auth-secret\n"
    daemon = rendered.files["/etc/systemd/system/tailscaled.service"].content
    join = rendered.files["/etc/systemd/system/tailscale-up.service"].content
    assert exec_start(daemon).startswith("/bin/ip vrf exec vrf104009 /usr/local/bin/tailscaled ")
    assert "--login-server=${VPN_ADDRESS} --auth-key=${VPN_AUTHKEY} --hostname=firewall" in exec_start(join)
    assert "Requires=tailscaled.service" in join
    assert all("tskey" not in unit for unit in (daemon, join))
    assert rendered.enable == ["node-exporter.service", "tailscaled.service", "tailscale-up.service"]


@pytest.mark.parametrize(
    ("vpn", "message"),
    [
        ("vpn: yes\n", "install.yaml: vpn: expected a mapping"),
        ("vpn:\n  address: https://h.test\n", "install.yaml: vpn.auth_key: missing"),
        (
            "vpn:\n  address: https://h.test\n  auth_key: 'a b'\n",
            "install.yaml: vpn.auth_key: 'a b' is not a VPN auth key",
        ),
        ("vpn:\n  address: 'h t'\n  auth_key: k\n", "install.yaml: vpn.address: 'h t' is not a host name or"),
        (
            'vpn:\n  address: https://h.test\n  auth_key: "k\\nx"\n',
            "install.yaml: vpn.auth_key: contains a newline",
        ),
    ],
)
def test_bad_vpn_names_the_key(vpn: str, message: str) -> None:
    with pytest.raises(InstallError) as error:
        render(vpn)
    assert str(error.value).startswith(message)
