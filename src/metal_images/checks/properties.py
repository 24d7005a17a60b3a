"""The properties a booted metal-stack image must have (contract 9.2 and more).

Run by `runner.py` with pytest-testinfra over SSH as `metal`; root commands go through
sudo with the console password. Each test is one named check in the report. A check that
upstream runs against the internet runs against the switch's test endpoint here.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from .context import CheckContext
from .plugin import Root, eventually

SYSCTLS = {
    "net.ipv6.conf.all.disable_ipv6": "0",
    "net.ipv6.conf.default.disable_ipv6": "0",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
    "net.ipv4.fib_multipath_hash_policy": "0",
    "net.ipv6.fib_multipath_hash_policy": "0",
    "kernel.printk": "2\t4\t1\t7",
}
DEBIAN_FAMILY = ("debian", "ubuntu")
RHEL_FAMILY = ("almalinux", "centos")
# ports allowed on the wildcard address: ssh, bgp, FRR mgmtd (upstream's goss list); on
# firewalls also VXLAN and the two exporters, which listen on [::] as metal-networker runs
# them (the nftables input chain admits them from the private VRFs only)
ALLOWED_PORTS = {"machine": {22, 179, 2623}, "firewall": {22, 179, 2623, 4789}}
ALLOWED_PORTS_V6 = {"machine": {22, 179, 2623}, "firewall": {22, 179, 2623, 4789, 9100, 9630}}


# --- settle first: every later check sees a booted system -----------------------------

def test_system_is_running(host: Any) -> None:
    """`systemctl is-system-running` = running (waits while the system is still starting)."""
    def state() -> str:
        return str(host.run("systemctl is-system-running").stdout.strip())
    eventually(lambda: state() not in ("starting", "initializing"), timeout=300)
    current = state()
    assert current == "running", f"system state {current!r}; failed units: " + host.run(
        "systemctl list-units --failed --no-legend --plain --no-pager").stdout.strip()


def test_no_failed_units(host: Any) -> None:
    out = host.run("systemctl list-units --failed --no-pager --no-legend --plain").stdout.strip()
    assert out == "", f"failed units:\n{out}"


def test_no_jobs_running(host: Any) -> None:
    assert "No jobs running." in host.run("systemctl list-jobs").stdout


# --- kernel and boot ----------------------------------------------------------------------

def test_cmdline_equals_boot_info(host: Any, ctx: CheckContext) -> None:
    running = host.file("/proc/cmdline").content_string.strip()
    if ctx.uefi:
        # GRUB's entry is `BOOT_IMAGE=<kernel> root=<device> ro` + GRUB_CMDLINE_LINUX
        # (= boot-info's cmdline); the kernel takes the last root=, so the boots are alike
        assert re.match(r"^BOOT_IMAGE=\S+ ", running), running
        assert running.endswith(" " + ctx.boot_cmdline.strip()), running
    else:
        assert running == ctx.boot_cmdline.strip()


def test_boot_info_yaml(root: Root) -> None:
    text = root.check_output("cat /etc/metal/boot-info.yaml")
    for key in ("kernel:", "initrd:", "cmdline:"):
        assert key in text, f"boot-info.yaml lacks {key}"
    assert "null" not in text


def test_fstab_from_hammer(host: Any) -> None:
    fstab = host.file("/etc/fstab").content_string
    assert fstab.startswith("# created by metal-hammer")
    assert host.mount_point("/").exists
    assert host.mount_point("/boot/efi").filesystem == "vfat"


def test_build_meta(host: Any) -> None:
    meta = host.file("/etc/metal/build-meta.yaml")
    assert meta.exists
    for key in ("buildVersion", "buildDate", "buildSHA", "buildRevision"):
        assert key in meta.content_string


@pytest.mark.parametrize("key", sorted(SYSCTLS))
def test_sysctl(host: Any, key: str) -> None:
    # /proc/sys directly: sysctl(8) lives in /usr/sbin, outside metal's PATH
    value = host.file("/proc/sys/" + key.replace(".", "/")).content_string.rstrip("\n")
    assert value == SYSCTLS[key]


# --- accounts -------------------------------------------------------------------------------

def test_user_metal(host: Any, ctx: CheckContext) -> None:
    user = host.user("metal")
    assert user.exists
    assert user.uid == 1000
    assert user.shell == "/bin/bash"
    assert user.home == "/home/metal"
    assert ("sudo" if ctx.os_id in DEBIAN_FAMILY else "wheel") in user.groups


def test_authorized_keys(host: Any, ctx: CheckContext) -> None:
    keys = host.file("/home/metal/.ssh/authorized_keys")
    assert keys.exists
    assert keys.user == "metal"
    assert keys.mode == 0o600
    assert ctx.public_key.split()[1] in keys.content_string


def test_sudo_with_console_password(host: Any, ctx: CheckContext) -> None:
    out = host.run(f"printf '%s\\n' '{ctx.password}' | sudo --stdin -p '' -i id")
    assert out.rc == 0, out.stderr
    assert "uid=0(root)" in out.stdout


def test_fixed_permissions(host: Any) -> None:
    assert host.file("/var/tmp").mode == 0o1777
    assert host.file("/etc/hosts").mode == 0o644


# --- network ------------------------------------------------------------------------------------

@pytest.mark.parametrize("index", [0, 1])
def test_link_files(host: Any, ctx: CheckContext, index: int) -> None:
    link = host.file(f"/etc/systemd/network/1{index}-lan{index}.link")
    assert link.exists
    assert f"MACAddress={ctx.macs[index]}" in link.content_string
    assert f"Name=lan{index}" in link.content_string
    network = host.file(f"/etc/systemd/network/1{index}-lan{index}.network")
    assert f"Name=lan{index}" in network.content_string


@pytest.mark.parametrize("index", [0, 1])
def test_nic_renamed_and_up(host: Any, ctx: CheckContext, index: int) -> None:
    out = host.run(f"cat /sys/class/net/lan{index}/address /sys/class/net/lan{index}/operstate")
    assert out.rc == 0, f"no interface lan{index}"
    address, state = out.stdout.split()
    assert address == ctx.macs[index].lower()
    assert state == "up"


def test_loopback_has_machine_ip(host: Any, ctx: CheckContext) -> None:
    assert f"inet {ctx.router_id}/32" in host.run("ip -4 addr show dev lo").stdout


def test_hostname(host: Any, ctx: CheckContext) -> None:
    assert ctx.hostname in host.file("/etc/hostname").content_string
    assert host.run("hostname").stdout.strip() == ctx.hostname


def test_dns_resolves_test_name(host: Any, ctx: CheckContext) -> None:
    """upstream resolves google.com; we resolve a test name via the switch's dnsmasq."""
    out = host.run(f"getent hosts {ctx.dns_name}")
    assert out.rc == 0, f"{ctx.dns_name} does not resolve: {host.file('/etc/resolv.conf').content_string}"
    assert out.stdout.split()[0] == ctx.dns_address


@pytest.mark.roles("machine")
def test_internet_endpoint_reachable(host: Any, ctx: CheckContext) -> None:
    """upstream curls https://1.1.1.1; we fetch the switch's endpoint by name over the
    BGP default route (its address is not announced otherwise)."""
    if host.exists("curl"):
        out = host.run(f"curl -fsS --max-time 20 {ctx.endpoint_url}")
    else:
        out = host.run(f"python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("
                       f"\"{ctx.endpoint_url}\", timeout=20).read().decode())'")
    assert out.rc == 0, out.stderr
    assert out.stdout == ctx.endpoint_text


def _listeners(host: Any, family: str, wildcard: str) -> set[int]:
    out = host.run(f"ss -{family} -Hlntu src {wildcard}")
    ports = set()
    for line in out.stdout.splitlines():
        local = line.split()[4]
        ports.add(int(local.rsplit(":", 1)[1]))
    return ports


@pytest.mark.parametrize("family", ["4", "6"])
def test_listening_ports(host: Any, ctx: CheckContext, family: str) -> None:
    allowed = (ALLOWED_PORTS if family == "4" else ALLOWED_PORTS_V6)[ctx.role]
    ports = _listeners(host, family, "0.0.0.0" if family == "4" else "[::]")
    assert ports <= allowed, f"unexpected listeners on the wildcard address: {sorted(ports - allowed)}"


# --- routing ------------------------------------------------------------------------------------

def _bgp_json(root: Root, command: str) -> dict[str, Any]:
    data = json.loads(root.check_output(f"vtysh -c '{command}'") or "{}")
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("daemon", ["bgpd", "zebra"])
def test_frr_daemon_running(host: Any, daemon: str) -> None:
    assert host.process.filter(comm=daemon), f"{daemon} is not running"


def test_bgp_total_peers(root: Root) -> None:
    assert _bgp_json(root, "show bgp summary json")["ipv4Unicast"]["totalPeers"] == 2


def test_bgp_router_id_and_as(root: Root, ctx: CheckContext) -> None:
    data = _bgp_json(root, "show bgp json")
    assert data["routerId"] == ctx.router_id
    assert data["localAS"] == ctx.asn


def test_bgp_sessions_established(root: Root) -> None:
    def established() -> list[str]:
        peers = _bgp_json(root, "show bgp summary json")["ipv4Unicast"]["peers"]
        return [name for name, peer in peers.items() if peer.get("state") == "Established"]
    assert len(eventually(lambda: len(established()) == 2 and established(), 120) or []) == 2


def test_default_route_learned(host: Any) -> None:
    out = host.run("ip -4 route show default")
    assert "proto bgp" in out.stdout, f"no BGP default route: {out.stdout!r}"
    assert out.stdout.count("nexthop") == 2 or "lan" in out.stdout


def test_switch_learned_machine_ip(ctx: CheckContext) -> None:
    """The other side of the sessions: the switch sees both peers and the machine's /32."""
    vty = ["ip", "netns", "exec", ctx.switch_namespace, "vtysh", "--vty_socket", ctx.switch_vty]
    summary = json.loads(subprocess.run([*vty, "-c", "show bgp ipv4 unicast summary json"],
                                        capture_output=True, text=True, check=True).stdout)
    peers = summary.get("peers") or {}
    assert sorted(p for p, v in peers.items() if v.get("state") == "Established") == ["tap0", "tap1"]
    route = subprocess.run(["ip", "netns", "exec", ctx.switch_namespace, "ip", "-4", "route", "show",
                            f"{ctx.router_id}/32"], capture_output=True, text=True, check=True).stdout
    assert "proto bgp" in route


# --- services -----------------------------------------------------------------------------------

def _service(host: Any, name: str, *, running: bool | None) -> None:
    service = host.service(name)
    assert service.is_enabled, f"{name} is not enabled"
    if running is not None:
        assert service.is_running == running, f"{name} running={service.is_running}, want {running}"


SERVICES_DEBIAN = [("frr", True), ("ssh", True), ("lldpd", True), ("systemd-networkd", True),
                   ("serial-getty@ttyS1", True)]
SERVICES_MACHINE = [("containerd", True)]
SERVICES_FIREWALL = [("chrony@vrf104009", True), ("suricata", True), ("suricata-update", False),
                     ("nftables", True), ("firewall-controller", False), ("droptailer", False),
                     ("node-exporter", True)]


@pytest.mark.os_ids(*DEBIAN_FAMILY)
@pytest.mark.parametrize(("name", "running"), SERVICES_DEBIAN)
def test_service(host: Any, name: str, running: bool) -> None:
    _service(host, name, running=running)


@pytest.mark.roles("machine")
@pytest.mark.os_ids(*DEBIAN_FAMILY)
@pytest.mark.parametrize(("name", "running"), SERVICES_MACHINE)
def test_machine_service(host: Any, name: str, running: bool) -> None:
    _service(host, name, running=running)


@pytest.mark.roles("firewall")
@pytest.mark.parametrize(("name", "running"), SERVICES_FIREWALL)
def test_firewall_service(host: Any, name: str, running: bool) -> None:
    _service(host, name, running=running)


# --- what differs between releases (docs/build.md, "Releases of a family") ---------------------

def _unix_time(host: Any, unit: str, prop: str) -> int:
    out = host.run(f"systemctl show --timestamp=unix -P {prop} {unit}").stdout.strip()
    assert out.startswith("@"), f"{unit} has no {prop}: {out!r}"
    return int(out[1:])


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_sshd_from_ssh_service_after_host_keys(host: Any) -> None:
    """Every release serves SSH from ssh.service (not noble's and later's ssh.socket), and
    the per-machine host keys were made before sshd started."""
    assert host.run("systemctl is-active ssh.socket").stdout.strip() != "active", "ssh.socket is active"
    started = _unix_time(host, "ssh.service", "ExecMainStartTimestamp")
    for kind in ("ed25519", "rsa", "ecdsa"):
        key = host.file(f"/etc/ssh/ssh_host_{kind}_key.pub")
        assert key.exists, f"no {kind} host key"
        assert key.mtime.timestamp() <= started + 1, f"the {kind} host key is newer than sshd"


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_frr_mgmtd_where_frr_has_one(root: Root) -> None:
    """FRR 10 (Debian 13, Ubuntu 26.04) always runs mgmtd, which needs /var/lib/frr."""
    if root.run("test -x /usr/lib/frr/mgmtd").rc != 0:
        pytest.skip("this FRR has no mgmtd")
    assert root.run("pgrep -x mgmtd").rc == 0, "mgmtd is not running"
    owner = root.check_output("stat -c %U /var/lib/frr").strip()
    assert owner == "frr", f"/var/lib/frr belongs to {owner}"


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_tmp_as_the_release_mounts_it(host: Any) -> None:
    """/tmp is a tmpfs where the release's systemd mounts one (Debian 13), else on /."""
    wants_tmpfs = host.file("/usr/lib/systemd/system/local-fs.target.wants/tmp.mount").exists
    fstype = host.run("findmnt -n -o FSTYPE /tmp").stdout.strip()
    assert fstype == ("tmpfs" if wants_tmpfs else ""), f"/tmp: {fstype or 'on /'}"
    assert host.file("/tmp").mode == 0o1777


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_gnu_coreutils_and_sudo(host: Any) -> None:
    """Our choice on every release (Ubuntu 26.04 defaults to the Rust ones)."""
    assert "GNU coreutils" in host.run("ls --version").stdout
    assert host.run("sudo -V").stdout.startswith("Sudo version"), "sudo is not the original sudo"


# RHEL: sshd (not ssh), chronyd keeps time (there is no systemd-timesyncd), networkd from EPEL
SERVICES_RHEL = [("sshd", True), ("frr", True), ("lldpd", True), ("systemd-networkd", True),
                 ("chronyd", True), ("serial-getty@ttyS1", True)]


@pytest.mark.os_ids(*RHEL_FAMILY)
@pytest.mark.parametrize(("name", "running"), SERVICES_RHEL)
def test_service_rhel(host: Any, name: str, running: bool) -> None:
    _service(host, name, running=running)


@pytest.mark.os_ids(*RHEL_FAMILY)
def test_chrony_uses_install_yaml_servers(host: Any) -> None:
    """The installer wrote /etc/chrony.conf from ntp_servers; chronyd uses exactly those."""
    conf = host.file("/etc/chrony.conf").content_string
    servers = [line.split()[1] for line in conf.splitlines() if line.startswith("server ")]
    assert servers, conf
    sources = host.run("chronyc -n sources").stdout
    assert all(server in sources for server in servers if server[0].isdigit()), sources


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_logrotate_timer(host: Any) -> None:
    out = host.run("systemctl list-timers --all --no-pager")
    assert "logrotate.timer" in out.stdout and "logrotate.service" in out.stdout


# --- userdata -------------------------------------------------------------------------------------

def test_userdata_files(root: Root, ctx: CheckContext) -> None:
    for expected in ctx.userdata_files:
        text = root.check_output(f"cat {expected.path}")
        assert expected.contains in text, f"{expected.path} lacks {expected.contains!r}"
        if expected.mode is not None:
            mode = int(root.check_output(f"stat -c %a {expected.path}").strip(), 8)
            assert mode == expected.mode, f"{expected.path} mode {oct(mode)}, want {oct(expected.mode)}"


def test_userdata_units_enabled_not_running(host: Any, ctx: CheckContext) -> None:
    for unit in ctx.userdata_units:
        _service(host, unit, running=False)


# --- firewall -------------------------------------------------------------------------------------

@pytest.mark.roles("firewall")
def test_nftables_forward_policy_drop(root: Root) -> None:
    assert "type filter hook forward priority 0; policy drop;" in root.check_output("cat /etc/nftables/rules")


@pytest.mark.roles("firewall")
def test_node_exporter_serves_in_private_vrf(root: Root, ctx: CheckContext) -> None:
    """The cluster's monitoring scrapes the firewall in the tenant network: the exporter
    answers there, inside the VRF (its socket outside any VRF accepts VRF traffic:
    tcp_l3mdev_accept; nftables decides who may connect)."""
    url = f"http://{ctx.private_ip}:9100/metrics"
    fetch = f"ip vrf exec {ctx.private_vrf} curl -fsS --max-time 10 {url}"
    text = eventually(lambda: (r := root.run(fetch)).rc == 0 and r.stdout, 60) or ""
    assert "node_exporter_build_info" in text, f"{url} in {ctx.private_vrf}: {root.run(fetch).stderr.strip()}"


@pytest.mark.roles("firewall")
def test_suricata_watches_internet_interface(root: Root) -> None:
    defaults = root.check_output("cat /etc/default/suricata")
    iface = re.search(r"^IFACE=(\S+)", defaults, re.MULTILINE)
    assert iface, f"no IFACE in /etc/default/suricata: {defaults!r}"
    cmdline = root.check_output("cat /proc/$(cat /run/suricata.pid)/cmdline").replace("\0", " ")
    assert f"-i {iface.group(1)}" in cmdline, cmdline


@pytest.mark.roles("firewall")
def test_suricata_logrotate(host: Any) -> None:
    text = host.file("/etc/logrotate.d/suricata").content_string
    assert "/var/log/suricata/*.log" in text and "/var/log/suricata/*.json" in text


# --- time ---------------------------------------------------------------------------------------

@pytest.mark.roles("machine")
@pytest.mark.os_ids(*DEBIAN_FAMILY, "almalinux")
def test_ntp_synchronized(host: Any, ctx: CheckContext) -> None:
    """Against the switch's SNTP server (ntp_servers in install.yaml); last, so the
    system had the most time to sync (timesyncd backs off when its first tries precede BGP)."""
    def synced() -> bool:
        return "NTPSynchronized=yes" in host.run("timedatectl show -p NTPSynchronized").stdout
    status = "chronyc -n tracking" if ctx.os_id in RHEL_FAMILY else "timedatectl timesync-status"
    assert eventually(synced, 240, 10), host.run(status).stdout
