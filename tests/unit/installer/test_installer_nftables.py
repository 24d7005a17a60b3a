"""/etc/nftables/rules as the installer renders it (network/nftables.py).

Golden cases, one per network kind, with inputs and expected files of our own
(golden_firewall/): written from our reading of metal-networker's nftables template,
checked line by line when written and regenerated only after an intended change with
`UPDATE_GOLDEN=1 pytest tests/unit/installer/test_installer_nftables.py` (review the
diff). Every rendered ruleset must also pass the host's `nft --check` (the real
parser; nothing is loaded), and the focused tests below pin the behaviour one rule at a
time, so a wrong golden file cannot hide it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from metal_images.installer import config
from metal_images.installer.network import nftables
from metal_images.installer.network.plan import plan

HERE = Path(__file__).parent
GOLDEN = HERE / "golden_firewall"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
DROP = nftables.Options()
PROXY = nftables.Options(dns_proxy=True)

# case -> (input under golden_firewall/inputs/, options); expected: golden_firewall/nftables/<case>.nft
CASES = {
    "standard": ("standard", DROP),
    "accept_forwarding": ("standard", nftables.Options(forward_policy="accept")),
    "dmz": ("dmz", PROXY),
    "dmz_app": ("dmz_app", PROXY),
    "shared": ("shared", PROXY),
    "ipv6": ("ipv6", PROXY),
    "dualstack": ("dualstack", PROXY),
    "vpn": ("vpn", DROP),
    "firewall_rules": ("firewall_rules", DROP),
}


def load(name: str, extra: str = "") -> config.InstallConfig:
    return config.parse((GOLDEN / "inputs" / f"{name}.yaml").read_text() + extra)


def render(name: str, options: nftables.Options = DROP, extra: str = "") -> str:
    parsed = load(name, extra)
    return nftables.render(parsed, plan(parsed), options)


def chain(ruleset: str, table: str, name: str) -> list[str]:
    """The statements of one chain (comments stripped), in order."""
    lines = ruleset.splitlines()
    start = lines.index(f"table {table} {{")
    begin = next(i for i in range(start, len(lines)) if lines[i].strip() == f"chain {name} {{")
    body = []
    for line in lines[begin + 1:]:
        if line.strip() == "}":
            break
        body.append(line.strip().split(' comment "')[0])
    return body


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    source, options = CASES[case]
    ours = render(source, options)
    expected = GOLDEN / "nftables" / f"{case}.nft"
    if UPDATE:
        expected.write_text(ours)
    assert ours == expected.read_text()


NFT = shutil.which("nft")


@pytest.mark.skipif(NFT is None or os.geteuid() != 0, reason="needs nft and root (scripts/bootstrap.sh)")
@pytest.mark.parametrize("case", sorted(CASES))
def test_nft_accepts_it(case: str, tmp_path: Path) -> None:
    source, options = CASES[case]
    rules = tmp_path / "rules"
    rules.write_text(render(source, options))
    result = subprocess.run([str(NFT), "--check", "--file", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(NFT is None or os.geteuid() != 0, reason="needs nft and root (scripts/bootstrap.sh)")
def test_nft_check_can_fail(tmp_path: Path) -> None:
    """The check above is real: a rule nft cannot parse makes it fail."""
    rules = tmp_path / "rules"
    rules.write_text(render("standard").replace("counter jump refuse", "counter jump nowhere"))
    result = subprocess.run([str(NFT), "--check", "--file", str(rules)], capture_output=True, text=True)
    assert result.returncode != 0 and "nowhere" in result.stderr
    # the installer's error shows nft's complaint lines, not the excerpt and carets under them
    complaints = nftables.rejected_lines(result.stderr)
    assert complaints and len(complaints) < len(result.stderr.splitlines())
    for line in complaints:
        assert line.startswith(f"{rules}:") and ": Error: " in line and "^" not in line


def test_input_drops_by_default_and_admits_only_its_list() -> None:
    rules = chain(render("standard"), "inet metal", "input")
    assert rules[0] == "type filter hook input priority 0; policy drop;"
    assert rules[1:] == [
        "meta l4proto ipv6-icmp counter accept",
        'iifname "lo" counter accept',
        'iifname "lan0" ip6 saddr fe80::/64 tcp dport bgp counter accept',
        'iifname "lan1" ip6 saddr fe80::/64 tcp dport bgp counter accept',
        'iifname "lan0" ip saddr 10.0.0.0/8 udp dport 4789 counter accept',
        'iifname "lan1" ip saddr 10.0.0.0/8 udp dport 4789 counter accept',
        "ct state established,related counter accept",
        "tcp dport ssh ct state new counter accept",
        # exporters only from the private networks (tenant and storage), not the internet
        'iifname "vrf4101" tcp dport 9100 counter accept',
        'iifname "vrf4101" tcp dport 9630 counter accept',
        'iifname "vrf4102" tcp dport 9100 counter accept',
        'iifname "vrf4102" tcp dport 9630 counter accept',
        "ct state invalid counter drop",
        "counter jump refuse",
    ]
    assert chain(render("standard"), "inet metal", "refuse") == [
        'limit rate 2/minute counter log prefix "nftables-metal-dropped: "',
        "counter drop",
    ]


def test_with_a_vpn_ssh_comes_only_through_tailscale() -> None:
    rules = chain(render("vpn"), "inet metal", "input")
    assert 'iifname "tailscale*" accept' in rules
    assert not [rule for rule in rules if "ssh" in rule]


def test_uplinks_are_the_firewalls_own_nics() -> None:
    text = (GOLDEN / "inputs" / "standard.yaml").read_text()
    third = '  - mac: "0a:00:00:00:10:03"\n    name: lan2\n    neighbors: [{mac: "0a:00:00:00:20:03"}]\n'
    parsed = config.parse(text.replace("networks:\n", third + "networks:\n", 1))
    rules = chain(nftables.render(parsed, plan(parsed)), "inet metal", "input")
    assert 'iifname "lan2" ip6 saddr fe80::/64 tcp dport bgp counter accept' in rules


def test_forward_drop_logs_what_falls_through_accept_does_not() -> None:
    drop = chain(render("standard"), "inet metal", "forward")
    assert drop[0] == "type filter hook forward priority 0; policy drop;"
    assert "tcp dport bgp ct state new counter jump refuse" in drop
    assert drop[-1] == 'limit rate 2/minute counter log prefix "nftables-metal-dropped: "'
    accept = chain(render("standard", nftables.Options(forward_policy="accept")), "inet metal", "forward")
    assert accept[0] == "type filter hook forward priority 0; policy accept;"
    assert not [rule for rule in accept if "log" in rule]


def test_unknown_forward_policy_is_refused() -> None:
    with pytest.raises(ValueError):
        nftables.Options(forward_policy="reject")


def test_firewall_rules_where_the_traffic_appears() -> None:
    rules = chain(render("firewall_rules"), "inet metal", "forward")
    assert rules[4:-1] == [
        # egress: from every private network's VRF (the forward hook's input device), per destination
        'iifname { "vrf4101","vrf4102" } ip daddr 0.0.0.0/0 tcp dport { 443 } counter accept',
        'iifname { "vrf4101","vrf4102" } ip daddr 192.0.2.10/32 tcp dport { 443 } counter accept',
        'iifname { "vrf4101","vrf4102" } ip6 daddr ::/0 udp dport { 53 } counter accept',
        # no ports: the whole protocol (upstream would write an empty set nft refuses)
        'iifname { "vrf4101","vrf4102" } ip daddr 192.0.2.64/27 meta l4proto udp counter accept',
        # ingress with `to:`: towards those addresses; the source keeps its host bits as written
        "ip daddr { 203.0.113.40/32 } ip saddr 198.51.100.0/24 tcp dport { 80,443 } counter accept",
        "ip daddr { 203.0.113.40/32 } ip saddr 172.20.5.0/16 tcp dport { 80,443 } counter accept",
        # the IPv4 source of an IPv6 rule could never match (and nft refuses the mix): left out
        "ip6 daddr { 2001:db8:200::40/128 } ip6 saddr 2001:db8:ffff::/48 tcp dport { 22 } counter"
        " accept",
        # ingress without `to:`: into the private primary network
        'oifname { "vrf4101", "vni4101", "vlan4101" } ip saddr 192.0.2.0/24 tcp dport { 8443 } counter'
        " accept",
    ]


def test_rule_comments_fit_nft() -> None:
    long = "é" * 100  # 200 bytes, within config.py's 200 characters, beyond nft's 128 bytes
    extra = f"firewall_rules:\n  egress:\n    - comment: {long}\n      ports: [443]\n"
    extra += "      to: [192.0.2.1/32]\n"
    text = render("standard", extra=extra)
    line = next(line for line in text.splitlines() if "192.0.2.1/32" in line)
    assert line.endswith(' comment "' + "é" * 64 + '"')


def test_nat_masquerades_the_tenant_out_of_every_nat_network() -> None:
    assert chain(render("standard"), "inet nat", "postrouting") == [
        "type nat hook postrouting priority 0; policy accept;",
        'oifname "vlan104200" ip saddr 10.64.0.0/22 counter masquerade random',
        'oifname "vlan104201" ip saddr 10.64.0.0/22 counter masquerade random',
    ]


def test_dmz_prefixes_are_masqueraded_too_and_the_proxy_keeps_its_source() -> None:
    assert chain(render("dmz", PROXY), "inet nat", "postrouting")[1:] == [
        'oifname "vlan104200" ip saddr 10.64.0.0/22 ip daddr != 203.0.113.17 counter masquerade random',
        'oifname "vlan104200" ip saddr 10.66.0.0/22 ip daddr != 203.0.113.17 counter masquerade random',
    ]


def test_ipv6_private_networks_are_masqueraded_as_ipv6() -> None:
    assert chain(render("ipv6", PROXY), "inet nat", "postrouting")[1:] == [
        'oifname "vlan104200" ip6 saddr fd42:64::/64 ip6 daddr != 2001:db8:200::11 counter masquerade random',
        'oifname "vlan104201" ip6 saddr fd42:64::/64 counter masquerade random',
    ]


def test_dns_proxy_redirects_the_private_networks_to_the_default_route_address() -> None:
    text = render("dmz_app", PROXY)  # no internet: the DMZ carries the default route
    svis = ("vlan4101", "vlan4103")  # the private networks: tenant and DMZ
    assert chain(text, "inet nat", "prerouting")[1:] == [
        f'ip daddr @proxy_dns_servers iifname "{svi}" {proto} dport domain dnat ip to 10.66.0.2'
        for svi in svis
        for proto in ("tcp", "udp")
    ]
    proxy_input = "ip saddr 10.0.0.0/8 udp dport domain ip daddr 10.66.0.2 accept"
    assert proxy_input in chain(text, "inet metal", "input")
    assert chain(text, "inet metal", "output_ct")[1:] == [
        f'oifname "{svi}" {proto} sport domain ct zone set 3' for svi in svis for proto in ("tcp", "udp")
    ]
    assert "proxy_dns_servers_v6" not in text
    assert "proxy_dns_servers_v6" in render("ipv6", PROXY)


def test_the_installers_default_is_drop_without_dns_proxy() -> None:
    assert render("standard") == (GOLDEN / "nftables" / "standard.nft").read_text()
    assert "dnat" not in render("dmz")
