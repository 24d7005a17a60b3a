"""What metal-stack's own images give every machine (issue 13), checked on the booted VM.

Phone home seen from the switch, a Kubernetes-ready node (cgroup v2, containerd's file
limit, AppArmor), the per-machine NVMe identity, the hardened sshd and PAM, and the
watchdog the image arms. Run by `runner.py` next to properties.py, with its fixtures.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from metal_images.vm import switch

from .context import CheckContext
from .plugin import Root, eventually

DEBIAN_FAMILY = ("debian", "ubuntu")
# lldpd sends every 10 s once configured (installer/lldp.py); two rounds and some slack
LLDP_WAIT = 35.0
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NQN = re.compile(rf"^nqn\.2014-08\.org\.nvmexpress:uuid:{UUID}$")
CONTAINERD_NOFILE = "1048576"
WATCHDOG_TIMEOUT = "60"


# --- phone home: what metal-core sees on both uplinks -----------------------------------------

def _captured_frames(ctx: CheckContext) -> list[dict[str, Any]]:
    argv = ["ip", "netns", "exec", ctx.switch_namespace, sys.executable, "-m", "metal_images.vm.lldp",
            *switch.PORTS, "--timeout", str(LLDP_WAIT)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=LLDP_WAIT + 30, check=False)
    frames = json.loads(result.stdout or "[]")
    assert isinstance(frames, list), result.stdout
    return frames


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_lldp_phone_home_on_both_uplinks(ctx: CheckContext) -> None:
    """metal-core takes System Name as the machine id and counts only frames whose
    System Description contains `provisioned` (phone-home.go)."""
    frames = {f["port"]: f for f in _captured_frames(ctx)}
    assert sorted(frames) == sorted(switch.PORTS), f"LLDP frames only on {sorted(frames)}"
    for port, frame in frames.items():
        assert frame["system_name"] == ctx.machine_uuid, f"{port}: System Name {frame['system_name']!r}"
        assert frame["system_description"] == lldp_description(ctx), (
            f"{port}: System Description {frame['system_description']!r}")
        assert "provisioned" in frame["system_description"]


def lldp_description(ctx: CheckContext) -> str:
    return f"provisioned since {ctx.install_timestamp}"


# --- Kubernetes-ready -----------------------------------------------------------------------------

def test_cgroup2_is_the_mounted_hierarchy(host: Any) -> None:
    assert host.run("stat -fc %T /sys/fs/cgroup").stdout.strip() == "cgroup2fs"
    assert "systemd.unified_cgroup_hierarchy" not in host.file("/proc/cmdline").content_string


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_containerd_soft_nofile_limit(root: Root) -> None:
    limits = root.check_output("cat /proc/$(systemctl show -p MainPID --value containerd)/limits")
    line = next((x for x in limits.splitlines() if x.startswith("Max open files")), "")
    assert line.split()[3:4] == [CONTAINERD_NOFILE], f"containerd: {line!r}"
    config = root.check_output("containerd config dump")
    assert "SystemdCgroup = true" in config
    assert 'bin_dir = "/opt/cni/bin"' in config


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_apparmor_enabled_with_profiles(root: Root) -> None:
    assert root.check_output("cat /sys/module/apparmor/parameters/enabled").strip() == "Y"
    profiles = root.check_output("cat /sys/kernel/security/apparmor/profiles").strip()
    assert profiles, "AppArmor is enabled but no profile is loaded"
    assert root.run("aa-status --enabled").rc == 0


# --- hardware and ops ------------------------------------------------------------------------------

@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_nvme_identity_generated_at_first_boot(root: Root) -> None:
    """The image ships none (every machine would share it); nvme-hostid.service makes one."""
    nqn = eventually(lambda: root.run("cat /etc/nvme/hostnqn").stdout.strip(), 60, 5)
    assert NQN.match(nqn or ""), f"/etc/nvme/hostnqn: {nqn!r}"
    hostid = root.check_output("cat /etc/nvme/hostid").strip()
    # nvme-cli derives the NQN's uuid from the host id: both name the same machine
    assert nqn.endswith(":uuid:" + hostid), (nqn, hostid)


@pytest.mark.roles("machine")
@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_iptables_legacy_on_machines(host: Any) -> None:
    # by its path: /usr/sbin is not on metal's PATH over SSH (Debian 13 has no iptables elsewhere)
    assert "(legacy)" in host.run("/usr/sbin/iptables --version").stdout


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_watchdog_armed_and_fed(host: Any) -> None:
    """The image arms the hardware watchdog with 60 s and the daemon feeds it (docs/build.md,
    "Watchdog"); the VM has an i6300esb for it, with qemu's action set to none."""
    state = eventually(lambda: host.run("cat /sys/class/watchdog/watchdog0/state").stdout.strip() == "active",
                       60, 5)
    assert state, "watchdog0 is not active: " + host.run("systemctl status watchdog --no-pager").stdout
    assert host.run("cat /sys/class/watchdog/watchdog0/timeout").stdout.strip() == WATCHDOG_TIMEOUT


# --- hardening -------------------------------------------------------------------------------------

@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_sshd_effective_hardening(root: Root) -> None:
    """`sshd -T` prints what sshd really uses: ours, whatever a drop-in says."""
    effective = root.check_output("sshd -T")
    for setting in ("allowstreamlocalforwarding no", "permituserrc no", "maxstartups 10:30:60",
                    "permitrootlogin no", "passwordauthentication no", "allowtcpforwarding no"):
        assert setting in effective.splitlines(), f"sshd -T lacks {setting!r}"
    assert re.search(r"^rekeylimit \d+ \d+$", effective, re.MULTILINE), "no RekeyLimit"


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_pam_faillock_history_and_su(root: Root) -> None:
    auth = root.check_output("cat /etc/pam.d/common-auth")
    lockout = r"^auth\s+required\s+pam_faillock\.so preauth.*deny=5.*unlock_time=900"
    assert re.search(lockout, auth, re.MULTILINE), auth
    password = root.check_output("cat /etc/pam.d/common-password")
    assert re.search(r"^password\s.*pam_unix\.so.*\bremember=5\b", password, re.MULTILINE), password
    su = root.check_output("cat /etc/pam.d/su")
    assert re.search(r"^auth\s+required\s+pam_wheel\.so\b.*group=root", su, re.MULTILINE)
