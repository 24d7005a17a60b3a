"""A machine with an IPv6 loopback: on lo as /128 and announced by the IPv6 family, which
metal-networker always renders (no golden case of its own has an IPv6 machine)."""

from __future__ import annotations

from pathlib import Path

from metal_images.installer.config import parse
from metal_images.installer.network import frr, networkd
from metal_images.installer.network.plan import plan

FIXTURE = Path(__file__).parent / "fixtures" / "install-machine.yaml"


def test_machine_announces_its_ipv6_loopback() -> None:
    config = parse(FIXTURE.read_text().replace("ips: [10.1.0.1]", "ips: [10.1.0.1, 2001:db8::1]"))
    net = plan(config)
    conf = frr.render(config, net)
    v6 = conf.index(" address-family ipv6 unicast\n")
    block = conf[v6 : conf.index(" exit-address-family", v6)]
    assert "  redistribute connected\n" in block
    assert "  neighbor TOR activate\n" in block
    assert "Address=2001:db8::1/128\n" in networkd.files(net)["/etc/systemd/network/00-lo.network"]


def test_ipv6_only_primary_gets_metal_networkers_router_id() -> None:
    config = parse(FIXTURE.read_text().replace("ips: [10.1.0.1]", "ips: [2001:db8::1]"))
    assert " bgp router-id 169.254.255.255\n" in frr.render(config, plan(config))
