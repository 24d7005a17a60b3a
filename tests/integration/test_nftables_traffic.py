"""The firewall's rendered ruleset, loaded into a network namespace, against real traffic.

Three namespaces the test creates and deletes: `fw` (the firewall: the ruleset our
renderer wrote, loaded with `nft -f`), `tenant` (a machine of the private network) and
`inet` (the internet side), joined by veth pairs, with private test addresses only. Real
TCP connections between them show what the rules do: SSH to the firewall passes from
anywhere, the exporter port only from the tenant, forwarding only what firewall_rules
allow (masqueraded towards the internet), and every drop is logged with the
`nftables-metal-dropped: ` prefix droptailer ships.

The kernel here has no VRF driver: the firewall's interfaces are named as the kernel
names VRF traffic at the input and forward hooks (the tenant side `vrf4101`, the VRF
device) and at postrouting (the internet side `vlan104200`, the SVI), which is what the
rules match on a real firewall. Non-init namespaces only log when
net.netfilter.nf_log_all_netns is 1; the test sets it and restores it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from metal_images.installer import config
from metal_images.installer.network import nftables
from metal_images.installer.network.plan import plan
from metal_images.vm.netns import network_namespace, ns_run

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
    pytest.mark.skipif(shutil.which("nft") is None, reason="needs nft (scripts/bootstrap.sh)"),
]

INSTALL_YAML = """hostname: fw-traffic
password: not-used
role: firewall
root_uuid: 0b6f3c2e-5d1a-4e7b-9f80-3c2d1e0f9a41
machineuuid: 5a2e8c1d-0b7f-4c3e-a9d6-1f2e3d4c5b6a
nics:
  - mac: "0a:00:00:00:10:01"
    neighbors: [{mac: "0a:00:00:00:20:01"}]
  - mac: "0a:00:00:00:10:02"
    neighbors: [{mac: "0a:00:00:00:20:02"}]
networks:
  - {networkid: tenant, networktype: privateprimaryunshared, asn: 4210000001, vrf: 4101,
     ips: [10.64.1.1], prefixes: [10.64.0.0/22], destinationprefixes: [], private: true}
  - {networkid: internet, networktype: external, asn: 4210000001, vrf: 104200, nat: true,
     ips: [172.30.0.1], prefixes: [172.30.0.0/24], destinationprefixes: [0.0.0.0/0]}
  - {networkid: underlay, networktype: underlay, asn: 4210000001, vrf: 0, underlay: true,
     ips: [10.9.0.7], prefixes: [10.9.0.0/22]}
firewall_rules:
  egress:
    - {comment: https out, protocol: TCP, ports: [443], to: [0.0.0.0/0]}
  ingress:
    - {comment: app in, protocol: TCP, ports: [8443], from: [172.30.0.0/24]}
"""
FW, TENANT, INET = "10.64.1.1", "10.64.1.2", "172.30.0.2"
FW_PUBLIC = "172.30.0.1"
# accepts on each port and answers with the address the connection came from
SERVER = """
import socket, sys, threading
def serve(port):
    s = socket.create_server(("0.0.0.0", port))
    while True:
        c, peer = s.accept()
        c.sendall(peer[0].encode())
        c.close()
for port in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(port),), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""
CLIENT = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2) as c:
        print("answer " + c.recv(100).decode())
except socket.timeout:
    print("timeout")
except OSError as e:
    print("error " + type(e).__name__)
"""
LOG_PREFIX = "nftables-metal-dropped: "


def ruleset() -> str:
    parsed = config.parse(INSTALL_YAML)
    return nftables.render(parsed, plan(parsed))


def link(a_ns: str, a: str, b_ns: str, b: str) -> None:
    ns_run(a_ns, ["ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", b_ns])
    ns_run(a_ns, ["ip", "link", "set", a, "up"])
    ns_run(b_ns, ["ip", "link", "set", b, "up"])


@contextmanager
def servers(ns: str, *ports: int) -> Iterator[None]:
    proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, *map(str, ports)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        proc.kill()
        proc.wait()


@contextmanager
def sysctl(path: Path, value: str) -> Iterator[None]:
    before = path.read_text().strip()
    path.write_text(value)
    try:
        yield
    finally:
        path.write_text(before)


class Kmsg:
    """The kernel log from now on (the log statements' output)."""

    def __init__(self) -> None:
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def lines(self) -> list[str]:
        found = []
        while True:
            try:
                record = os.read(self.fd, 8192).decode(errors="replace")
            except BlockingIOError:
                return found
            except OSError:  # EPIPE: records overwritten meanwhile; go on with the next
                continue
            found.append(record.split(";", 1)[-1].strip())

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture(scope="module")
def net() -> Iterator[dict[str, str]]:
    log_switch = Path("/proc/sys/net/netfilter/nf_log_all_netns")
    if not log_switch.exists():
        pytest.skip("no net.netfilter.nf_log_all_netns (nf_conntrack not loaded?)")
    suffix = str(os.getpid())
    with ExitStack() as stack:
        fw = stack.enter_context(network_namespace(f"mi-nft-fw{suffix}"))
        tenant = stack.enter_context(network_namespace(f"mi-nft-t{suffix}"))
        inet = stack.enter_context(network_namespace(f"mi-nft-i{suffix}"))
        link(fw, "vrf4101", tenant, "eth0")
        link(fw, "vlan104200", inet, "eth0")
        ns_run(fw, ["ip", "addr", "add", f"{FW}/22", "dev", "vrf4101"])
        ns_run(fw, ["ip", "addr", "add", f"{FW_PUBLIC}/24", "dev", "vlan104200"])
        ns_run(fw, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        ns_run(tenant, ["ip", "addr", "add", f"{TENANT}/22", "dev", "eth0"])
        ns_run(tenant, ["ip", "route", "add", "default", "via", FW])
        ns_run(inet, ["ip", "addr", "add", f"{INET}/24", "dev", "eth0"])
        # the tenant's prefix is reachable from the internet side (a public network in real life)
        ns_run(inet, ["ip", "route", "add", "10.64.0.0/22", "via", FW_PUBLIC])
        rules = stack.enter_context(_tempfile(ruleset()))
        ns_run(fw, ["nft", "-f", str(rules)])
        stack.enter_context(servers(fw, 22, 9100))
        stack.enter_context(servers(tenant, 8443, 9000))
        stack.enter_context(servers(inet, 443, 8080))
        stack.enter_context(sysctl(log_switch, "1"))
        yield {"fw": fw, "tenant": tenant, "inet": inet}


@contextmanager
def _tempfile(text: str) -> Iterator[Path]:
    path = Path(f"/tmp/mi-nft-rules-{os.getpid()}")
    path.write_text(text)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def connect(ns: str, host: str, port: int) -> str:
    return ns_run(ns, [sys.executable, "-c", CLIENT, host, str(port)], check=False).output.strip()


def dropped(net: dict[str, str], ns: str, host: str, port: int) -> list[str]:
    """Connect, expect silence, return the drop log lines about this connection."""
    kmsg = Kmsg()
    try:
        assert connect(net[ns], host, port) == "timeout"
        deadline = time.monotonic() + 5
        lines: list[str] = []
        while time.monotonic() < deadline:
            lines += [line for line in kmsg.lines() if line.startswith(LOG_PREFIX) and f"DPT={port} " in line]
            if lines:
                return lines
            time.sleep(0.2)
        return lines
    finally:
        kmsg.close()


def test_ssh_to_the_firewall_passes_from_the_internet(net: dict[str, str]) -> None:
    assert connect(net["inet"], FW_PUBLIC, 22) == f"answer {INET}"


def test_a_closed_port_of_the_firewall_is_dropped_and_logged(net: dict[str, str]) -> None:
    lines = dropped(net, "inet", FW_PUBLIC, 9100)
    assert lines, "no log line with the prefix for the dropped connection"
    assert "IN=vlan104200 " in lines[0] and f"SRC={INET} " in lines[0]


def test_the_exporter_answers_the_tenant(net: dict[str, str]) -> None:
    assert connect(net["tenant"], FW, 9100) == f"answer {TENANT}"


def test_egress_rule_passes_masqueraded(net: dict[str, str]) -> None:
    # the internet side sees the firewall's address, not the tenant's
    assert connect(net["tenant"], INET, 443) == f"answer {FW_PUBLIC}"


def test_forwarding_not_allowed_is_dropped_and_logged(net: dict[str, str]) -> None:
    lines = dropped(net, "tenant", INET, 8080)
    assert lines and "IN=vrf4101 OUT=vlan104200 " in lines[0]


def test_ingress_rule_reaches_the_tenant_and_nothing_else(net: dict[str, str]) -> None:
    assert connect(net["inet"], TENANT, 8443) == f"answer {INET}"
    assert dropped(net, "inet", TENANT, 9000)


class _NsRoot:
    """checks.plugin.Root's interface, running commands in the firewall namespace."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def run(self, command: str) -> object:
        result = subprocess.run(["ip", "netns", "exec", self.ns, "sh", "-c", command],
                                capture_output=True, text=True, check=False)
        return type("R", (), {"rc": result.returncode, "stdout": result.stdout, "stderr": result.stderr})()

    def check_output(self, command: str) -> str:
        result = self.run(command)
        assert result.rc == 0, result.stderr  # type: ignore[attr-defined]
        return str(result.stdout)  # type: ignore[attr-defined]


def test_the_vm_checks_read_the_loaded_ruleset(net: dict[str, str]) -> None:
    """checks/nft_ruleset.py's static checks pass on this loaded ruleset and fail on a
    ruleset whose input chain accepts (what the VM test would see on a wrong firewall)."""
    from metal_images.checks import nft_ruleset

    root = _NsRoot(net["fw"])
    ctx = type("Ctx", (), {"private_vrf": "vrf4101"})()
    nft_ruleset.test_input_chain_drops_by_default(root)  # type: ignore[arg-type]
    nft_ruleset.test_input_chain_admits_its_allow_list(root, ctx)  # type: ignore[arg-type]
    nft_ruleset.test_forward_chain_drops_and_refuses_bgp_to_machines(root)  # type: ignore[arg-type]
    with network_namespace(f"mi-nft-x{os.getpid()}") as other:
        accepting = ruleset().replace("input priority 0; policy drop;", "input priority 0; policy accept;")
        with _tempfile(accepting) as bad:
            ns_run(other, ["nft", "-f", str(bad)])
        with pytest.raises(AssertionError):
            nft_ruleset.test_input_chain_drops_by_default(_NsRoot(other))  # type: ignore[arg-type]
