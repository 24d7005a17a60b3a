"""A machine with an IPv6 loopback announces it in its own address family (no golden case has one)."""

from __future__ import annotations

from pathlib import Path

from metal_images.installer.config import parse
from metal_images.installer.network import frr
from metal_images.installer.network.plan import plan

FIXTURE = Path(__file__).parent / "fixtures" / "install-machine.yaml"


def test_machine_announces_its_ipv6_loopback() -> None:
    text = FIXTURE.read_text().replace("ips: [10.1.0.1]", "ips: [10.1.0.1, 2001:db8::1]")
    conf = frr.render(plan(parse(text)))
    v6 = conf.index(" address-family ipv6 unicast\n")
    block = conf[v6 : conf.index(" exit-address-family", v6)]
    assert "  redistribute connected route-map LOOPBACKS\n" in block
    assert f"  neighbor {frr.PEER_GROUP} activate\n" in block
    assert "ipv6 prefix-list LOOPBACKS6 seq 10 permit 2001:db8::1/128\n" in conf
    assert "route-map LOOPBACKS permit 20\n match ipv6 address prefix-list LOOPBACKS6\n" in conf
    assert "address-family ipv6" not in frr.render(plan(parse(FIXTURE.read_text())))
