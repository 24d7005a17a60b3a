"""The firewall's loaded nftables ruleset (issue 12.9), checked on the booted VM.

What the kernel holds after boot, not only what the installer wrote: the input chain
drops by default and admits its allow-list (BGP unnumbered and VXLAN on the uplinks,
SSH, the exporters from the private VRF), drops are logged with the prefix droptailer
ships, and a connection from the switch to a port outside the list really goes
unanswered (the node exporter listens there, so without the rules it would answer).
Run by `runner.py` next to properties.py, with its fixtures.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .context import CheckContext
from .plugin import Root, eventually

DROP_PREFIX = "nftables-metal-dropped: "
UPLINKS = ("lan0", "lan1")
# a port the firewall listens on (node exporter) that the input chain refuses from the uplinks
REFUSED_PORT = 9100
CLIENT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()
    print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(type(e).__name__)
"""


def _chain(root: Root, table: str, name: str) -> list[str]:
    """The chain as the kernel lists it, counters and comments dropped, one rule a line."""
    text = root.check_output(f"nft list chain {table} {name}")
    lines = []
    for raw in text.splitlines():
        line = re.sub(r'\s*comment "[^"]*"', "", raw)
        line = re.sub(r"\s*counter packets \d+ bytes \d+", " counter", line)
        line = " ".join(line.split())
        if line and line not in ("}", "table " + table + " {") and not line.startswith("chain "):
            lines.append(line)
    return lines


def _refused_packets(root: Root) -> int:
    text = root.check_output("nft list chain inet metal refuse")
    match = re.search(r"counter packets (\d+) bytes \d+ drop", text)
    assert match, f"no counted drop in the refuse chain:\n{text}"
    return int(match.group(1))


@pytest.mark.roles("firewall")
def test_input_chain_drops_by_default(root: Root) -> None:
    rules = _chain(root, "inet metal", "input")
    assert rules[0] == "type filter hook input priority filter; policy drop;", rules[0]
    assert rules[-1] == "counter jump refuse", rules[-1]


@pytest.mark.roles("firewall")
def test_input_chain_admits_its_allow_list(root: Root, ctx: CheckContext) -> None:
    rules = set(_chain(root, "inet metal", "input"))
    expected = {
        'iifname "lo" counter accept',
        "ct state established,related counter accept",
        "tcp dport 22 ct state new counter accept",
        f'iifname "{ctx.private_vrf}" tcp dport 9100 counter accept',
        f'iifname "{ctx.private_vrf}" tcp dport 9630 counter accept',
    }
    for uplink in UPLINKS:
        expected.add(f'iifname "{uplink}" ip6 saddr fe80::/64 tcp dport 179 counter accept')
        expected.add(f'iifname "{uplink}" ip saddr 10.0.0.0/8 udp dport 4789 counter accept')
    assert expected <= rules, f"missing from the loaded input chain: {sorted(expected - rules)}"
    refuse = _chain(root, "inet metal", "refuse")
    # (older nft list the limit's default burst too)
    log = re.compile(r'limit rate 2/minute( burst \d+ packets)? counter log prefix "' + DROP_PREFIX + '"')
    assert len(refuse) == 2 and log.fullmatch(refuse[0]) and refuse[1] == "counter drop", refuse


@pytest.mark.roles("firewall")
def test_forward_chain_drops_and_refuses_bgp_to_machines(root: Root) -> None:
    rules = _chain(root, "inet metal", "forward")
    assert rules[0] == "type filter hook forward priority filter; policy drop;", rules[0]
    assert "tcp dport 179 ct state new counter jump refuse" in rules


@pytest.mark.roles("firewall")
def test_a_port_outside_the_list_is_dropped_from_the_switch(root: Root, ctx: CheckContext) -> None:
    listening = root.run(f"ss -Hltn sport = :{REFUSED_PORT}")
    assert listening.stdout.strip(), f"nothing listens on {REFUSED_PORT}: the probe would prove nothing"
    before = _refused_packets(root)
    argv = ["ip", "netns", "exec", ctx.switch_namespace, sys.executable, "-c", CLIENT,
            ctx.router_id, str(REFUSED_PORT)]
    probe = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    target = f"{ctx.router_id}:{REFUSED_PORT}"
    assert probe.stdout.strip() == "timeout", f"switch -> {target}: {probe.stdout}{probe.stderr}"
    assert _refused_packets(root) > before
    logged = eventually(lambda: root.run(
        f"journalctl -k --no-pager -o cat --grep '{DROP_PREFIX}.*DPT={REFUSED_PORT} '").stdout.strip(), 20, 2)
    assert logged, f"no kernel log line with {DROP_PREFIX!r} for port {REFUSED_PORT}"
