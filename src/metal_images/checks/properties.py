"""The properties a booted metal-stack image must have (contract 9.2 and more).

Run by `runner.py` with pytest-testinfra over SSH as `metal`. Facts are gathered once per
module (facts.py): `PROBES` lists every command the checks look at; the `facts` fixture runs
them all in one batched SSH command (root ones through one sudo with the console password)
and each test asserts on the results. Each test is one named check in the report. A check
that upstream runs against the internet runs against the switch's test endpoint here.

To add checks in a module of your own, give it a `PROBES` list and tests taking `facts`
(see facts.py), and add it to runner.CHECK_MODULES (after this module, which settles).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from typing import Any

import pytest

from .context import CheckContext
from .facts import Facts, Probe, Result, file_probe, probe, service_probes

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



SERVICES_DEBIAN = [("frr", True), ("ssh", True), ("lldpd", True), ("systemd-networkd", True),
                   ("serial-getty@ttyS1", True)]
SERVICES_MACHINE = [("containerd", True)]
SERVICES_FIREWALL = [("chrony@vrf104009", True), ("suricata", True), ("suricata-update", False),
                     ("nftables", True), ("firewall-controller", False), ("droptailer", False),
                     ("node-exporter", True)]
# RHEL: sshd (not ssh), chronyd keeps time (there is no systemd-timesyncd), networkd from EPEL
SERVICES_RHEL = [("sshd", True), ("frr", True), ("lldpd", True), ("systemd-networkd", True),
                 ("chronyd", True), ("serial-getty@ttyS1", True)]
HOST_KEYS = ("ed25519", "rsa", "ecdsa")
NOT_STARTED = ("starting", "initializing")


def _established(summary: Result) -> list[str]:
    peers = json.loads(summary.stdout or "{}")["ipv4Unicast"]["peers"]
    return [name for name, peer in peers.items() if peer.get("state") == "Established"]


def _endpoint_fetch(ctx: CheckContext) -> str:
    url = shlex.quote(ctx.endpoint_url)
    python = (f"import urllib.request,sys; sys.stdout.write(urllib.request.urlopen({ctx.endpoint_url!r}, "
              "timeout=20).read().decode())")
    return f"if command -v curl >/dev/null; then curl -fsS --max-time 20 {url}; " \
           f"else python3 -c {shlex.quote(python)}; fi"


def _exporter_fetch(ctx: CheckContext) -> str:
    url = f"http://{ctx.private_ip}:9100/metrics"
    return f"ip vrf exec {shlex.quote(ctx.private_vrf)} curl -fsS --max-time 10 {shlex.quote(url)}"


def _userdata_probes(ctx: CheckContext) -> list[Probe]:
    probes = [file_probe(f"userdata:{f.path}", f.path, root=True) for f in ctx.userdata_files]
    for unit in ctx.userdata_units:
        probes.extend(service_probes(unit))
    return probes


def _sudo_id(ctx: CheckContext) -> str:
    return f"printf '%s\\n' {shlex.quote(ctx.password)} | sudo --stdin -p '' -i id"


def _dns_lookup(ctx: CheckContext) -> str:
    return f"getent hosts {shlex.quote(ctx.dns_name)}"


def _ntp_status(ctx: CheckContext) -> str:
    status = "chronyc -n tracking" if ctx.os_id in RHEL_FAMILY else "timedatectl timesync-status"
    unit = "chronyd" if ctx.os_id in RHEL_FAMILY else "systemd-timesyncd"
    # the daemon's own account, for the failure message
    return (f"timedatectl show -p NTPSynchronized; {status}; "
            f"journalctl -b -u {unit} --no-pager -o short-monotonic | tail -n 20")


PROBES = [
    # settle first: every later fact is of a booted system with its BGP sessions up
    probe("system_state", "systemctl is-system-running", settle=True, timeout=300,
          ready=lambda r: r.stdout.strip() not in NOT_STARTED),
    probe("bgp_summary", "vtysh -c 'show bgp summary json'", root=True, settle=True, timeout=120,
          ready=lambda r: len(_established(r)) == 2),
    probe("failed_units", "systemctl list-units --failed --no-pager --no-legend --plain"),
    probe("jobs", "systemctl list-jobs"),
    probe("cmdline", "cat /proc/cmdline"),
    probe("boot_info", "cat /etc/metal/boot-info.yaml", root=True),
    file_probe("fstab", "/etc/fstab"),
    probe("mounts", "cat /proc/mounts"),
    file_probe("build_meta", "/etc/metal/build-meta.yaml"),
    *(probe(f"sysctl:{key}", f"cat /proc/sys/{key.replace('.', '/')}") for key in SYSCTLS),
    probe("passwd_metal", "getent passwd metal"),
    probe("groups_metal", "id -Gn metal"),
    file_probe("authorized_keys", "/home/metal/.ssh/authorized_keys"),
    probe("sudo_id", _sudo_id),
    probe("modes", "stat -c %a /var/tmp /etc/hosts"),
    *(file_probe(f"{kind}{i}", f"/etc/systemd/network/1{i}-lan{i}.{kind}")
      for i in (0, 1) for kind in ("link", "network")),
    *(probe(f"nic{i}", f"cat /sys/class/net/lan{i}/address /sys/class/net/lan{i}/operstate") for i in (0, 1)),
    probe("lo_addresses", "ip -4 addr show dev lo"),
    file_probe("etc_hostname", "/etc/hostname"),
    probe("hostname", "hostname"),
    probe("dns_lookup", _dns_lookup),
    file_probe("resolv_conf", "/etc/resolv.conf"),
    probe("endpoint", _endpoint_fetch, roles=("machine",)),
    probe("listeners4", "ss -4 -Hlntu src 0.0.0.0"),
    probe("listeners6", "ss -6 -Hlntu src [::]"),
    probe("processes", "ps -A -o comm="),
    probe("bgp", "vtysh -c 'show bgp json'", root=True),
    probe("default_route", "ip -4 route show default"),
    *(p for name, _ in SERVICES_DEBIAN for p in service_probes(name, os_ids=DEBIAN_FAMILY)),
    *(p for name, _ in SERVICES_MACHINE
      for p in service_probes(name, roles=("machine",), os_ids=DEBIAN_FAMILY)),
    *(p for name, _ in SERVICES_FIREWALL for p in service_probes(name, roles=("firewall",))),
    *(p for name, _ in SERVICES_RHEL for p in service_probes(name, os_ids=RHEL_FAMILY)),
    # what differs between releases
    probe("ssh_socket", "systemctl is-active ssh.socket", os_ids=DEBIAN_FAMILY),
    # as seconds since the epoch by date(1): systemd 249 (Ubuntu 22.04) has no --timestamp=unix
    probe("sshd_started",
          't=$(systemctl show -P ExecMainStartTimestamp ssh.service); [ -n "$t" ] && date -d "$t" +%s',
          os_ids=DEBIAN_FAMILY),
    *(probe(f"host_key:{kind}", f"stat -c %Y /etc/ssh/ssh_host_{kind}_key.pub", os_ids=DEBIAN_FAMILY)
      for kind in HOST_KEYS),
    probe("mgmtd_present", "test -x /usr/lib/frr/mgmtd", root=True, os_ids=DEBIAN_FAMILY),
    probe("mgmtd_running", "pgrep -x mgmtd", root=True, os_ids=DEBIAN_FAMILY),
    probe("frr_lib_owner", "stat -c %U /var/lib/frr", root=True, os_ids=DEBIAN_FAMILY),
    probe("tmp_mount_wanted", "test -e /usr/lib/systemd/system/local-fs.target.wants/tmp.mount",
          os_ids=DEBIAN_FAMILY),
    probe("tmp_fstype", "findmnt -n -o FSTYPE /tmp", os_ids=DEBIAN_FAMILY),
    probe("tmp_mode", "stat -c %a /tmp", os_ids=DEBIAN_FAMILY),
    probe("ls_version", "ls --version", os_ids=DEBIAN_FAMILY),
    probe("sudo_version", "sudo -V", os_ids=DEBIAN_FAMILY),
    file_probe("chrony_conf", "/etc/chrony.conf", os_ids=RHEL_FAMILY),
    probe("chrony_sources", "chronyc -n sources", os_ids=RHEL_FAMILY),
    probe("timers", "systemctl list-timers --all --no-pager", os_ids=DEBIAN_FAMILY),
    _userdata_probes,
    probe("nftables_rules", "cat /etc/nftables/rules", root=True, roles=("firewall",)),
    probe("exporter_metrics", _exporter_fetch, root=True, roles=("firewall",), timeout=60,
          ready=lambda r: r.ok and bool(r.stdout)),
    probe("suricata_defaults", "cat /etc/default/suricata", root=True, roles=("firewall",)),
    probe("suricata_cmdline", "cat /proc/$(cat /run/suricata.pid)/cmdline", root=True, roles=("firewall",)),
    file_probe("suricata_logrotate", "/etc/logrotate.d/suricata", roles=("firewall",)),
    # last in the report; waited for after the rest, so timesyncd had the most time to sync
    # (it backs off when its first tries precede BGP)
    probe("ntp", _ntp_status, timeout=240, root=True,
          interval=10, ready=lambda r: "NTPSynchronized=yes" in r.stdout,
          roles=("machine",), os_ids=(*DEBIAN_FAMILY, "almalinux")),
]


def _root_output(facts: Facts, name: str, command: str) -> str:
    """A root fact's stdout; it must have succeeded (as the old check_output did)."""
    result = facts[name]
    assert result.ok, f"{command!r} failed ({result.rc}): {result.stderr.strip()}"
    return result.stdout


# --- settle first: every later check sees a booted system -----------------------------

def test_system_is_running(facts: Facts) -> None:
    """`systemctl is-system-running` = running (waits while the system is still starting)."""
    current = facts["system_state"].stdout.strip()
    assert current == "running", f"system state {current!r}; failed units: " + \
        facts["failed_units"].stdout.strip()


def test_no_failed_units(facts: Facts) -> None:
    out = facts["failed_units"].stdout.strip()
    assert out == "", f"failed units:\n{out}"


def test_no_jobs_running(facts: Facts) -> None:
    assert "No jobs running." in facts["jobs"].stdout


# --- kernel and boot ----------------------------------------------------------------------

def test_cmdline_equals_boot_info(facts: Facts, ctx: CheckContext) -> None:
    running = facts["cmdline"].stdout.strip()
    if ctx.uefi:
        # GRUB's entry is `BOOT_IMAGE=<kernel> root=<device> ro` + GRUB_CMDLINE_LINUX
        # (= boot-info's cmdline); the kernel takes the last root=, so the boots are alike
        assert re.match(r"^BOOT_IMAGE=\S+ ", running), running
        assert running.endswith(" " + ctx.boot_cmdline.strip()), running
    else:
        assert running == ctx.boot_cmdline.strip()


def test_boot_info_yaml(facts: Facts) -> None:
    text = _root_output(facts, "boot_info", "cat /etc/metal/boot-info.yaml")
    for key in ("kernel:", "initrd:", "cmdline:"):
        assert key in text, f"boot-info.yaml lacks {key}"
    assert "null" not in text


def _mounts(facts: Facts) -> dict[str, str]:
    """mount point -> file system type (the first entry, as testinfra's mount_point)."""
    mounts: dict[str, str] = {}
    for line in facts["mounts"].stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.setdefault(fields[1], fields[2])
    return mounts


def test_fstab_from_hammer(facts: Facts) -> None:
    fstab = facts.file("fstab").content
    assert fstab.startswith("# created by metal-hammer")
    mounts = _mounts(facts)
    assert "/" in mounts
    assert mounts.get("/boot/efi") == "vfat"


def test_build_meta(facts: Facts) -> None:
    meta = facts.file("build_meta")
    assert meta.exists
    for key in ("buildVersion", "buildDate", "buildSHA", "buildRevision"):
        assert key in meta.content


@pytest.mark.parametrize("key", sorted(SYSCTLS))
def test_sysctl(facts: Facts, key: str) -> None:
    # /proc/sys directly: sysctl(8) lives in /usr/sbin, outside metal's PATH
    assert facts[f"sysctl:{key}"].stdout.rstrip("\n") == SYSCTLS[key]


# --- accounts -------------------------------------------------------------------------------

def test_user_metal(facts: Facts, ctx: CheckContext) -> None:
    passwd = facts["passwd_metal"]
    assert passwd.ok, "no user metal"
    _, _, uid, _, _, home, shell = passwd.stdout.strip().split(":")
    assert int(uid) == 1000
    assert shell == "/bin/bash"
    assert home == "/home/metal"
    assert ("sudo" if ctx.os_id in DEBIAN_FAMILY else "wheel") in facts["groups_metal"].stdout.split()


def test_authorized_keys(facts: Facts, ctx: CheckContext) -> None:
    keys = facts.file("authorized_keys")
    assert keys.exists
    assert keys.owner == "metal"
    assert keys.mode == 0o600
    assert ctx.public_key.split()[1] in keys.content


def test_sudo_with_console_password(facts: Facts) -> None:
    out = facts["sudo_id"]
    assert out.rc == 0, out.stderr
    assert "uid=0(root)" in out.stdout


def test_fixed_permissions(facts: Facts) -> None:
    assert facts["modes"].stdout.split() == ["1777", "644"]  # /var/tmp, /etc/hosts


# --- network ------------------------------------------------------------------------------------

@pytest.mark.parametrize("index", [0, 1])
def test_link_files(facts: Facts, ctx: CheckContext, index: int) -> None:
    link = facts.file(f"link{index}")
    assert link.exists
    assert f"MACAddress={ctx.macs[index]}" in link.content
    assert f"Name=lan{index}" in link.content
    assert f"Name=lan{index}" in facts.file(f"network{index}").content


@pytest.mark.parametrize("index", [0, 1])
def test_nic_renamed_and_up(facts: Facts, ctx: CheckContext, index: int) -> None:
    out = facts[f"nic{index}"]
    assert out.rc == 0, f"no interface lan{index}"
    address, state = out.stdout.split()
    assert address == ctx.macs[index].lower()
    assert state == "up"


def test_loopback_has_machine_ip(facts: Facts, ctx: CheckContext) -> None:
    assert f"inet {ctx.router_id}/32" in facts["lo_addresses"].stdout


def test_hostname(facts: Facts, ctx: CheckContext) -> None:
    assert ctx.hostname in facts.file("etc_hostname").content
    assert facts["hostname"].stdout.strip() == ctx.hostname


def test_dns_resolves_test_name(facts: Facts, ctx: CheckContext) -> None:
    """upstream resolves google.com; we resolve a test name via the switch's dnsmasq."""
    out = facts["dns_lookup"]
    assert out.rc == 0, f"{ctx.dns_name} does not resolve: {facts.file('resolv_conf').content}"
    assert out.stdout.split()[0] == ctx.dns_address


@pytest.mark.roles("machine")
def test_internet_endpoint_reachable(facts: Facts, ctx: CheckContext) -> None:
    """upstream curls https://1.1.1.1; we fetch the switch's endpoint by name over the
    BGP default route (its address is not announced otherwise)."""
    out = facts["endpoint"]
    assert out.rc == 0, out.stderr
    assert out.stdout == ctx.endpoint_text


def _listeners(output: str) -> set[int]:
    return {int(line.split()[4].rsplit(":", 1)[1]) for line in output.splitlines() if line.strip()}


@pytest.mark.parametrize("family", ["4", "6"])
def test_listening_ports(facts: Facts, ctx: CheckContext, family: str) -> None:
    allowed = (ALLOWED_PORTS if family == "4" else ALLOWED_PORTS_V6)[ctx.role]
    ports = _listeners(facts[f"listeners{family}"].stdout)
    assert ports <= allowed, f"unexpected listeners on the wildcard address: {sorted(ports - allowed)}"


# --- routing ------------------------------------------------------------------------------------

def _bgp_json(facts: Facts, name: str, command: str) -> dict[str, Any]:
    data = json.loads(_root_output(facts, name, f"vtysh -c '{command}'") or "{}")
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("daemon", ["bgpd", "zebra"])
def test_frr_daemon_running(facts: Facts, daemon: str) -> None:
    assert daemon in facts["processes"].stdout.split(), f"{daemon} is not running"


def test_bgp_total_peers(facts: Facts) -> None:
    assert _bgp_json(facts, "bgp_summary", "show bgp summary json")["ipv4Unicast"]["totalPeers"] == 2


def test_bgp_router_id_and_as(facts: Facts, ctx: CheckContext) -> None:
    data = _bgp_json(facts, "bgp", "show bgp json")
    assert data["routerId"] == ctx.router_id
    assert data["localAS"] == ctx.asn


def test_bgp_sessions_established(facts: Facts) -> None:
    _bgp_json(facts, "bgp_summary", "show bgp summary json")
    assert len(_established(facts["bgp_summary"])) == 2


def test_default_route_learned(facts: Facts) -> None:
    out = facts["default_route"].stdout
    assert "proto bgp" in out, f"no BGP default route: {out!r}"
    assert out.count("nexthop") == 2 or "lan" in out


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

def _service(facts: Facts, name: str, *, running: bool | None) -> None:
    service = facts.service(name)
    assert service.enabled, f"{name} is not enabled ({service.enabled_state or 'no answer'})"
    if running is not None:
        assert service.running == running, f"{name} running={service.running}, want {running}"


@pytest.mark.os_ids(*DEBIAN_FAMILY)
@pytest.mark.parametrize(("name", "running"), SERVICES_DEBIAN)
def test_service(facts: Facts, name: str, running: bool) -> None:
    _service(facts, name, running=running)


@pytest.mark.roles("machine")
@pytest.mark.os_ids(*DEBIAN_FAMILY)
@pytest.mark.parametrize(("name", "running"), SERVICES_MACHINE)
def test_machine_service(facts: Facts, name: str, running: bool) -> None:
    _service(facts, name, running=running)


@pytest.mark.roles("firewall")
@pytest.mark.parametrize(("name", "running"), SERVICES_FIREWALL)
def test_firewall_service(facts: Facts, name: str, running: bool) -> None:
    _service(facts, name, running=running)


# --- what differs between releases (docs/build.md, "Releases of a family") ---------------------

@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_sshd_from_ssh_service_after_host_keys(facts: Facts) -> None:
    """Every release serves SSH from ssh.service (not noble's and later's ssh.socket), and
    the per-machine host keys were made before sshd started."""
    assert facts["ssh_socket"].stdout.strip() != "active", "ssh.socket is active"
    out = facts["sshd_started"].stdout.strip()
    assert facts["sshd_started"].ok and out.isdigit(), f"ssh.service has no ExecMainStartTimestamp: {out!r}"
    started = int(out)
    for kind in HOST_KEYS:
        key = facts[f"host_key:{kind}"]
        assert key.ok, f"no {kind} host key"
        assert int(key.stdout) <= started + 1, f"the {kind} host key is newer than sshd"


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_frr_mgmtd_where_frr_has_one(facts: Facts) -> None:
    """FRR 10 (Debian 13, Ubuntu 26.04) always runs mgmtd, which needs /var/lib/frr."""
    if not facts["mgmtd_present"].ok:
        pytest.skip("this FRR has no mgmtd")
    assert facts["mgmtd_running"].ok, "mgmtd is not running"
    owner = _root_output(facts, "frr_lib_owner", "stat -c %U /var/lib/frr").strip()
    assert owner == "frr", f"/var/lib/frr belongs to {owner}"


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_tmp_as_the_release_mounts_it(facts: Facts) -> None:
    """/tmp is a tmpfs where the release's systemd mounts one (Debian 13), else on /."""
    wants_tmpfs = facts["tmp_mount_wanted"].ok
    fstype = facts["tmp_fstype"].stdout.strip()
    assert fstype == ("tmpfs" if wants_tmpfs else ""), f"/tmp: {fstype or 'on /'}"
    assert facts["tmp_mode"].stdout.strip() == "1777"


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_gnu_coreutils_and_sudo(facts: Facts) -> None:
    """Our choice on every release (Ubuntu 26.04 defaults to the Rust ones)."""
    assert "GNU coreutils" in facts["ls_version"].stdout
    assert facts["sudo_version"].stdout.startswith("Sudo version"), "sudo is not the original sudo"


@pytest.mark.os_ids(*RHEL_FAMILY)
@pytest.mark.parametrize(("name", "running"), SERVICES_RHEL)
def test_service_rhel(facts: Facts, name: str, running: bool) -> None:
    _service(facts, name, running=running)


@pytest.mark.os_ids(*RHEL_FAMILY)
def test_chrony_uses_install_yaml_servers(facts: Facts) -> None:
    """The installer wrote /etc/chrony.conf from ntp_servers; chronyd uses exactly those."""
    conf = facts.file("chrony_conf").content
    servers = [line.split()[1] for line in conf.splitlines() if line.startswith("server ")]
    assert servers, conf
    sources = facts["chrony_sources"].stdout
    assert all(server in sources for server in servers if server[0].isdigit()), sources


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_logrotate_timer(facts: Facts) -> None:
    out = facts["timers"].stdout
    assert "logrotate.timer" in out and "logrotate.service" in out


# --- userdata -------------------------------------------------------------------------------------

def test_userdata_files(facts: Facts, ctx: CheckContext) -> None:
    for expected in ctx.userdata_files:
        found = facts.file(f"userdata:{expected.path}")
        assert found.exists, f"'cat {expected.path}' failed: {found.error}"
        assert expected.contains in found.content, f"{expected.path} lacks {expected.contains!r}"
        if expected.mode is not None:
            assert found.mode == expected.mode, \
                f"{expected.path} mode {oct(found.mode)}, want {oct(expected.mode)}"


def test_userdata_units_enabled_not_running(facts: Facts, ctx: CheckContext) -> None:
    for unit in ctx.userdata_units:
        _service(facts, unit, running=False)


# --- firewall -------------------------------------------------------------------------------------

@pytest.mark.roles("firewall")
def test_nftables_forward_policy_drop(facts: Facts) -> None:
    rules = _root_output(facts, "nftables_rules", "cat /etc/nftables/rules")
    assert "type filter hook forward priority 0; policy drop;" in rules


@pytest.mark.roles("firewall")
def test_node_exporter_serves_in_private_vrf(facts: Facts, ctx: CheckContext) -> None:
    """The cluster's monitoring scrapes the firewall in the tenant network: the exporter
    answers there, inside the VRF (its socket outside any VRF accepts VRF traffic:
    tcp_l3mdev_accept; nftables decides who may connect)."""
    fetched = facts["exporter_metrics"]
    url = f"http://{ctx.private_ip}:9100/metrics"
    assert "node_exporter_build_info" in fetched.stdout, \
        f"{url} in {ctx.private_vrf}: {fetched.stderr.strip()}"


@pytest.mark.roles("firewall")
def test_suricata_watches_internet_interface(facts: Facts) -> None:
    defaults = _root_output(facts, "suricata_defaults", "cat /etc/default/suricata")
    iface = re.search(r"^IFACE=(\S+)", defaults, re.MULTILINE)
    assert iface, f"no IFACE in /etc/default/suricata: {defaults!r}"
    cmdline = _root_output(facts, "suricata_cmdline", "cat /proc/$(cat /run/suricata.pid)/cmdline")
    assert f"-i {iface.group(1)}" in cmdline.replace("\0", " "), cmdline


@pytest.mark.roles("firewall")
def test_suricata_logrotate(facts: Facts) -> None:
    text = facts.file("suricata_logrotate").content
    assert "/var/log/suricata/*.log" in text and "/var/log/suricata/*.json" in text


# --- time ---------------------------------------------------------------------------------------

@pytest.mark.roles("machine")
@pytest.mark.os_ids(*DEBIAN_FAMILY, "almalinux")
def test_ntp_synchronized(facts: Facts) -> None:
    """Against the switch's SNTP server (ntp_servers in install.yaml); its fact is waited for
    after all others (see PROBES)."""
    out = facts["ntp"].stdout
    assert "NTPSynchronized=yes" in out, out
