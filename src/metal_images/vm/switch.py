"""The switch the server is cabled to: a network namespace with FRR, DNS, NTP and HTTP.

- two tap devices (the switch ports the VM's NICs attach to);
- FRR zebra + bgpd (own config and sockets): BGP unnumbered on both ports, announcing a
  default route and the switch's service address;
- dnsmasq on the service address, answering only the test names;
- an SNTP server on the service address (for timesyncd);
- an HTTP test endpoint on an address that is reachable only via the default route
  (the stand-in for "the internet").
All addresses are private; nothing leaves the namespace.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metal_images.errors import MetalImagesError
from metal_images.runner import background, require_running

from .netns import network_namespace, ns_argv, ns_run

SERVICE_ADDRESS = "10.254.0.1"  # DNS + NTP; announced by BGP as a /32
ENDPOINT_ADDRESS = "10.254.1.1"  # HTTP "internet" endpoint; reachable only via the default route
SWITCH_ASN = 4200000099
ENDPOINT_NAME = "endpoint.metal-images.test"
SWITCH_NAME = "switch.metal-images.test"
PORTS = ("tap0", "tap1")
FRR_DIR = Path("/usr/lib/frr")
ENDPOINT_TEXT = "metal-images test endpoint\n"


@dataclass(frozen=True)
class Switch:
    namespace: str
    state: Path  # FRR's sockets (vtysh --vty_socket), config and pid files
    ports: tuple[str, ...] = PORTS

    def vtysh(self, command: str) -> str:
        result = ns_run(self.namespace, ["vtysh", "--vty_socket", str(self.state), "-c", command],
                        check=False, timeout=30)
        return result.output

    def bgp_summary(self) -> dict[str, Any]:
        try:
            data = json.loads(self.vtysh("show bgp ipv4 unicast summary json") or "{}")
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}

    def established_peers(self) -> list[str]:
        peers = self.bgp_summary().get("peers") or {}
        return sorted(n for n, p in peers.items() if p.get("state") == "Established")

    def has_route(self, prefix: str) -> bool:
        result = ns_run(self.namespace, ["ip", "-4", "route", "show", prefix], check=False)
        return bool(result.output.strip())


def frr_config(ports: tuple[str, ...]) -> str:
    lines = ["frr defaults datacenter", "hostname switch", "log stdout informational", "!"]
    for port in ports:
        lines += [f"interface {port}", " ipv6 nd ra-interval 6", " no ipv6 nd suppress-ra", "!"]
    lines += [
        f"router bgp {SWITCH_ASN}",
        f" bgp router-id {SERVICE_ADDRESS}",
        " bgp bestpath as-path multipath-relax",
        *(f" neighbor {port} interface remote-as external" for port in ports),
        " address-family ipv4 unicast",
        f"  network {SERVICE_ADDRESS}/32",
        *(f"  neighbor {port} default-originate" for port in ports),
        " exit-address-family",
        "!",
    ]
    return "\n".join(lines) + "\n"


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise MetalImagesError(f"switch: {what} not ready after {timeout:.0f}s")
        time.sleep(0.2)


@contextmanager
def running_switch(name: str, state: Path) -> Iterator[Switch]:
    """Build the switch; tear every part down (processes, namespace) on exit."""
    state.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        ns = stack.enter_context(network_namespace(name))
        # the service addresses live on lo (the host kernel may lack the dummy module)
        ns_run(ns, ["ip", "addr", "add", f"{SERVICE_ADDRESS}/32", "dev", "lo"])
        ns_run(ns, ["ip", "addr", "add", f"{ENDPOINT_ADDRESS}/32", "dev", "lo"])
        for port in PORTS:
            ns_run(ns, ["ip", "tuntap", "add", port, "mode", "tap"])
            ns_run(ns, ["ip", "link", "set", port, "up"])
        for key in ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"):
            ns_run(ns, ["sysctl", "-qw", f"{key}=1"])
        # the daemons drop to the frr user: their files live in a directory of their own that
        # user can reach (the log directory may sit below a 0700 directory)
        runtime = Path(tempfile.mkdtemp(prefix=f"{name}-frr-"))
        stack.callback(shutil.rmtree, runtime, True)
        shutil.chown(runtime, "frr", "frr")
        conf = runtime / "frr.conf"
        conf.write_text(frr_config(PORTS))
        shutil.copyfile(conf, state / "frr.conf")
        zsock = runtime / "zserv.api"
        common = ["-z", str(zsock), "--vty_socket", str(runtime), "-P", "0"]
        zebra_log = state / "zebra.log"
        zebra = stack.enter_context(background(
            ns_argv(ns, [str(FRR_DIR / "zebra"), "-f", str(conf), "-i", str(runtime / "zebra.pid"), *common]),
            zebra_log, name="zebra"))
        _wait(lambda: zsock.exists() or zebra.poll() is not None, 30, "zebra")
        require_running(zebra, "zebra", zebra_log)
        bgpd_log = state / "bgpd.log"
        bgpd = stack.enter_context(background(
            ns_argv(ns, [str(FRR_DIR / "bgpd"), "-f", str(conf), "-i", str(runtime / "bgpd.pid"), *common]),
            bgpd_log, name="bgpd"))
        dns_log = state / "dnsmasq.log"
        dnsmasq = stack.enter_context(background(ns_argv(ns, [
            "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            "--bind-interfaces", f"--listen-address={SERVICE_ADDRESS}",
                         f"--pid-file={runtime / 'dnsmasq.pid'}", "--log-queries", "--log-facility=-",
            f"--host-record={ENDPOINT_NAME},{ENDPOINT_ADDRESS}",
            f"--host-record={SWITCH_NAME},{SERVICE_ADDRESS}",
        ]), dns_log, name="dnsmasq"))
        web = state / "www"
        web.mkdir(exist_ok=True)
        (web / "index.html").write_text(ENDPOINT_TEXT)
        http_log = state / "http.log"
        http = stack.enter_context(background(ns_argv(ns, [
            sys.executable, "-m", "http.server", "--bind", ENDPOINT_ADDRESS, "--directory", str(web), "80",
        ]), http_log, name="http endpoint"))
        ntp_log = state / "sntp.log"
        sntp = stack.enter_context(background(ns_argv(ns, [
            sys.executable, "-m", "metal_images.vm.sntp", SERVICE_ADDRESS]), ntp_log, name="sntp"))
        time.sleep(1)
        for proc, what, log in ((bgpd, "bgpd", bgpd_log), (dnsmasq, "dnsmasq", dns_log),
                                (http, "http endpoint", http_log), (sntp, "sntp", ntp_log)):
            require_running(proc, what, log)
        yield Switch(ns, runtime)
