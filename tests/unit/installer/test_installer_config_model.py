"""install.yaml read as metal-hammer writes it (issue 12.1): prefixes as Go's
netip.ParsePrefix reads them, metal-go's shapes, network kinds by networktype."""

from __future__ import annotations

from pathlib import Path

import pytest

from metal_images.installer.config import Prefix, parse
from metal_images.installer.errors import InstallError

FIXTURES = Path(__file__).parent / "fixtures"
MACHINE = (FIXTURES / "install-machine.yaml").read_text()
GOLDEN = Path(__file__).parent / "network_golden"


@pytest.mark.parametrize(
    ("text", "written", "network"),
    [
        ("10.0.18.0/22", "10.0.18.0/22", "10.0.16.0/22"),
        ("192.168.1.0/16", "192.168.1.0/16", "192.168.0.0/16"),
        ("0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0"),
        ("2001:DB8:0:0::1/64", "2001:db8::1/64", "2001:db8::/64"),
        ("::/0", "::/0", "::/0"),
    ],
)
def test_prefix_keeps_host_bits_as_written(text: str, written: str, network: str) -> None:
    prefix = Prefix.parse(text)
    assert str(prefix) == written
    assert str(prefix.network) == network


@pytest.mark.parametrize(
    "text",
    ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1", "fe80::1%lan0/64", " 10.0.0.0/8", "x/8", "/8"],
)
def test_prefix_refuses_what_go_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        Prefix.parse(text)


def test_metal_go_shapes_and_plain_strings() -> None:
    config = parse(
        MACHINE
        + "dns_servers: [{ip: 10.0.0.53}, 2001:db8::53]\n"
        + "ntp_servers: [{address: ntp.test}, 10.0.0.123]\n"
        + "vpn: {address: vpn.test, auth_key: tskey-1}\n"
    )
    assert [str(s) for s in config.dns_servers] == ["10.0.0.53", "2001:db8::53"]
    assert config.ntp_servers == ["ntp.test", "10.0.0.123"]
    assert config.vpn is not None and config.vpn.auth_key == "tskey-1"
    legacy = parse(MACHINE + "vpn: {address: vpn.test, authkey: old-key}\n")
    assert legacy.vpn is not None and legacy.vpn.auth_key == "old-key"


def test_a_dns_entry_without_ip_names_the_key() -> None:
    with pytest.raises(InstallError, match=r"^install.yaml: dns_servers\[0\].ip: missing$"):
        parse(MACHINE + "dns_servers: [{address: 10.0.0.53}]\n")


def test_newer_metal_go_keys_are_tolerated() -> None:
    text = MACHINE.replace(
        "    vrf: 3981\n", "    vrf: 3981\n    networktypev2: child\n    nattypev2: none\n"
    )
    text = text.replace(
        '  - mac: "00:03:00:11:11:01"\n', '  - mac: "00:03:00:11:11:01"\n    identifier: "0000:01:00.0"\n'
    )
    assert parse(text).networks[0].private_primary


def test_network_kinds_by_type() -> None:
    config = parse((GOLDEN / "firewall-dmz-app-storage" / "install.yaml").read_text())
    kinds = {n.vrf: (n.private_primary, n.dmz, n.storage, n.external, n.underlay) for n in config.networks}
    assert kinds == {
        7001: (True, False, False, False, False),
        7002: (False, True, False, False, False),
        7003: (False, False, True, False, False),
        0: (False, False, False, False, True),
    }
    default = config.default_route_network
    assert default is not None and default.vrf == 7002  # no external network: the DMZ


def test_networks_without_networktype_get_one() -> None:
    text = MACHINE.replace("    networktype: privateprimaryunshared\n", "")
    assert parse(text).networks[0].networktype == "privateprimaryunshared"


def test_phone_home_values_are_demanded_early_only_where_an_lldp_daemon_announces_them(
    tmp_path: Path,
) -> None:
    """os-installer's and metal-networker's inputs have no timestamp; without an LLDP
    daemon in the image the install.yaml step accepts them, with lldpd it refuses."""
    from installer_fakes import FakeRunner, write

    from metal_images.installer.context import Context
    from metal_images.installer.steps import read_install_yaml
    from metal_images.installer.target import Target

    text = "".join(line + "\n" for line in MACHINE.splitlines() if not line.startswith("timestamp:"))
    write(tmp_path, "/etc/metal/install.yaml", text, 0o600)
    ctx = Context(target=Target(tmp_path), runner=FakeRunner(tmp_path, set()), env={}, log=lambda _m: None)
    read_install_yaml(ctx)
    assert ctx.config is not None and ctx.config.hostname == "machine"
    for tool in ("/usr/sbin/lldpd", "/usr/sbin/lldpcli"):
        write(tmp_path, tool, "#!/bin/sh\n", 0o755)
    with pytest.raises(InstallError, match=r"^install.yaml: timestamp: missing"):
        read_install_yaml(ctx)
