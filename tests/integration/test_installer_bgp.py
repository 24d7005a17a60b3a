"""The FRR config the installer generates really peers: BGP unnumbered with a test switch.

Two network namespaces the test creates: "machine" with lan0/lan1 (the MACs of
install.yaml, the loopback IP on lo, as systemd-networkd would configure them) and
"switch" with swp1/swp2, joined by veth pairs. Both run the Debian tree's own FRR
(zebra + bgpd, chrooted into an overlay of the tree); the machine uses exactly the
frr.conf /install.sh wrote. The switch announces a default route and its own /32.
The test waits for both sessions to be Established, checks the routes both ways
(the machine's 127.0.0.0/8 must not leak), then opens a TCP connection from the switch
to the machine's loopback IP over the BGP-learned route (the path SSH takes in the VM test).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import pytest

from metal_images.chroot import chroot_mounts
from metal_images.installer_bundle import write_install_sh
from tests.integration.test_installer_chroot import FIXTURES, install, prepare, pristine_tree, tree  # noqa: F401

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, chroot)"),
]

SERVER = "import socket; s = socket.create_server(('10.1.0.1', 2222)); c, _ = s.accept(); c.sendall(b'hello')"
SWITCH_CONF = """frr defaults datacenter
hostname switch
!
interface swp1
 ipv6 nd ra-interval 3
 no ipv6 nd suppress-ra
exit
!
interface swp2
 ipv6 nd ra-interval 3
 no ipv6 nd suppress-ra
exit
!
router bgp 4200000001
 bgp router-id 10.255.255.1
 no bgp ebgp-requires-policy
 neighbor swp1 interface remote-as external
 neighbor swp2 interface remote-as external
 !
 address-family ipv4 unicast
  redistribute connected route-map SWITCH-LO
  neighbor swp1 default-originate
  neighbor swp2 default-originate
 exit-address-family
exit
!
ip prefix-list SWITCH-LO seq 10 permit 10.255.255.1/32
route-map SWITCH-LO permit 10
 match ip address prefix-list SWITCH-LO
exit
"""


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {result.returncode}: {result.stdout}{result.stderr}")
    return result


@contextmanager
def netns(name: str) -> Iterator[str]:
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield name
    finally:
        sh("ip", "netns", "delete", name, check=False)


def in_ns(ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, *argv, check=check)


@contextmanager
def frr(root: Path, ns: str, name: str, config: str, profile: str) -> Iterator[None]:
    """zebra + bgpd of the tree in namespace `ns`, FRR pathspace `name`; killed by pid on exit."""
    confdir = root / "etc/frr" / name
    confdir.mkdir(parents=True, exist_ok=True)
    (confdir / "frr.conf").write_text(config)
    (confdir / "vtysh.conf").write_text("service integrated-vtysh-config\n")
    rundir = root / "run/frr" / name
    # the daemons run as the tree's frr user, which must own their pid and socket dir
    sh("chroot", str(root), "install", "-d", "-o", "frr", "-g", "frr", "-m", "0755", f"/run/frr/{name}")
    pidfiles = [rundir / "zebra.pid", rundir / "bgpd.pid"]
    try:
        for daemon in ("zebra", "bgpd"):
            argv = [f"/usr/lib/frr/{daemon}", "-d", "-N", name, "-A", "127.0.0.1"]
            in_ns(ns, "chroot", str(root), *argv, *(["-F", profile] if profile else []))
        boot = in_ns(ns, "chroot", str(root), "vtysh", "-N", name, "-b", check=False)
        assert boot.returncode == 0, boot.stdout + boot.stderr
        yield
    finally:
        for pidfile in pidfiles:
            if pidfile.exists():
                stop(int(pidfile.read_text().strip()))


def daemons_profile(root: Path) -> str:
    """The -F profile FRR's frrcommon.sh would pass: frr_profile= in /etc/frr/daemons."""
    for line in (root / "etc/frr/daemons").read_text().splitlines():
        if line.startswith("frr_profile="):
            return line.split("=", 1)[1].strip().strip('"')
    return "traditional"


def stop(pid: int) -> None:
    """SIGTERM one daemon we started and wait (up to 10 s) until it is gone."""
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def vtysh_json(root: Path, ns: str, name: str, command: str) -> dict:  # type: ignore[type-arg]
    out = in_ns(ns, "chroot", str(root), "vtysh", "-N", name, "-c", command, check=False).stdout
    try:
        return json.loads(out)  # type: ignore[no-any-return]
    except ValueError:
        return {}


def established(summary: dict) -> int:  # type: ignore[type-arg]
    peers = summary.get("ipv4Unicast", {}).get("peers", {})
    return sum(1 for p in peers.values() if p.get("state") == "Established")


def test_generated_frr_conf_peers_with_a_switch(tree: Path) -> None:  # noqa: F811
    write_install_sh(tree)
    prepare(tree, (FIXTURES / "install-machine.yaml").read_text(), None)
    assert install(tree).returncode == 0
    machine_conf = (tree / "etc/frr/frr.conf").read_text()
    suffix = str(os.getpid())
    with ExitStack() as stack:
        stack.enter_context(chroot_mounts(tree))
        m = stack.enter_context(netns(f"mi-inst-m{suffix}"))
        s = stack.enter_context(netns(f"mi-inst-s{suffix}"))
        for lan, swp, mac in (("lan0", "swp1", "00:03:00:11:11:01"), ("lan1", "swp2", "00:03:00:11:12:01")):
            sh(
                "ip",
                "link",
                "add",
                lan,
                "netns",
                m,
                "address",
                mac,
                "type",
                "veth",
                "peer",
                "name",
                swp,
                "netns",
                s,
            )
            in_ns(m, "ip", "link", "set", lan, "up")
            in_ns(s, "ip", "link", "set", swp, "up")
        in_ns(m, "ip", "addr", "add", "10.1.0.1/32", "dev", "lo")
        in_ns(s, "ip", "addr", "add", "10.255.255.1/32", "dev", "lo")
        for ns in (m, s):
            in_ns(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        assert daemons_profile(tree) == "datacenter"
        stack.enter_context(frr(tree, s, "switch", SWITCH_CONF, "datacenter"))
        stack.enter_context(frr(tree, m, "machine", machine_conf, daemons_profile(tree)))

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if established(vtysh_json(tree, m, "machine", "show bgp summary json")) == 2:
                break
            time.sleep(1)
        summary = vtysh_json(tree, m, "machine", "show bgp summary json")
        assert established(summary) == 2, json.dumps(summary)[:2000]
        assert summary["ipv4Unicast"]["as"] == 4200003073
        assert summary["ipv4Unicast"]["routerId"] == "10.1.0.1"

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            routes = in_ns(m, "ip", "-4", "route", "show").stdout
            switch_routes = in_ns(s, "ip", "-4", "route", "show").stdout
            if "default" in routes and "10.1.0.1" in switch_routes:
                break
            time.sleep(1)
        assert "default" in routes and "proto bgp" in routes, routes
        assert "10.1.0.1" in switch_routes and "127.0.0.0" not in switch_routes, switch_routes

        # a TCP connection from the switch to the machine's loopback IP, over BGP routes
        server = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                m,
                "python3",
                "-c",
                SERVER,
            ],
        )
        try:
            client = """
import socket, sys, time
for _ in range(50):
    try:
        c = socket.create_connection(('10.1.0.1', 2222), timeout=2, source_address=('10.255.255.1', 0))
        print(c.recv(5).decode()); sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
"""
            reply = in_ns(s, "python3", "-c", client, check=False)
            assert reply.stdout.strip() == "hello", reply.stderr
        finally:
            server.kill()
            server.wait()
