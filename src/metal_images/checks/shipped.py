"""What metal-stack's own images give every machine (issue 13), checked on the booted VM.

Phone home seen from the switch, a Kubernetes-ready node (cgroup v2, containerd's file
limit, AppArmor), the per-machine NVMe identity, the hardened sshd and PAM, and the
watchdog the image arms. Run by `runner.py` next to properties.py, with its fixtures;
what the checks read on the machine is gathered in one SSH command (PROBES, facts.py).
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
from .facts import Facts, Result, probe

DEBIAN_FAMILY = ("debian", "ubuntu")
# lldpd sends every 10 s once configured (installer/lldp.py); two rounds and some slack
LLDP_WAIT = 35.0
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NQN = re.compile(rf"^nqn\.2014-08\.org\.nvmexpress:uuid:{UUID}$")
CONTAINERD_NOFILE = "1048576"
WATCHDOG_TIMEOUT = "60"
NO_VM_WATCHDOG = "no-i6300esb-driver"


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


# --- what the checks below read on the machine, gathered in one SSH command -----------------

def _nvme_ready(result: Result) -> bool:
    return bool(result.stdout.splitlines()[:1] and result.stdout.splitlines()[0].strip())


ROOT_DEBIAN: dict[str, object] = {"root": True, "os_ids": DEBIAN_FAMILY}
PROBES = [
    probe("cgroup_fs", "stat -fc %T /sys/fs/cgroup"),
    probe("cmdline", "cat /proc/cmdline"),
    probe("containerd_limits", "cat /proc/$(systemctl show -p MainPID --value containerd)/limits",
          **ROOT_DEBIAN),
    probe("containerd_config", "containerd config dump", **ROOT_DEBIAN),
    probe("apparmor_enabled", "cat /sys/module/apparmor/parameters/enabled", **ROOT_DEBIAN),
    probe("apparmor_profiles", "cat /sys/kernel/security/apparmor/profiles", **ROOT_DEBIAN),
    probe("aa_status", "aa-status --enabled", **ROOT_DEBIAN),
    # both files come from nvme-hostid.service at first boot: read together, wait for them
    probe("nvme_ids", 'printf \'%s\\n%s\\n\' "$(cat /etc/nvme/hostnqn)" "$(cat /etc/nvme/hostid)"',
          ready=_nvme_ready, timeout=60, **ROOT_DEBIAN),
    # as root: iptables lives in /usr/sbin, outside metal's PATH (sudo's secure_path has it)
    probe("iptables_version", "iptables --version", root=True, roles=("machine",), os_ids=DEBIAN_FAMILY),
    # the VM's watchdog is an i6300esb; Ubuntu's kernels ship its driver only in
    # linux-modules-extra and blacklist it (with every watchdog driver) in /lib/modprobe.d,
    # so udev never loads it: then the state is NO_VM_WATCHDOG at once, not waited for
    probe("watchdog_state", f"if modinfo -F filename i6300esb >/dev/null && "
          f"! modprobe -c | grep -qx 'blacklist i6300esb'; then cat /sys/class/watchdog/watchdog0/state; "
          f"else echo {NO_VM_WATCHDOG}; fi", timeout=60,
          ready=lambda r: r.stdout.strip() in ("active", NO_VM_WATCHDOG), **ROOT_DEBIAN),
    probe("watchdog_timeout", "cat /sys/class/watchdog/watchdog0/timeout", os_ids=DEBIAN_FAMILY),
    probe("watchdog_status", "systemctl status watchdog --no-pager", os_ids=DEBIAN_FAMILY),
    probe("sshd_effective", "sshd -T", **ROOT_DEBIAN),
    probe("pam_auth", "cat /etc/pam.d/common-auth", **ROOT_DEBIAN),
    probe("pam_password", "cat /etc/pam.d/common-password", **ROOT_DEBIAN),
    probe("pam_su", "cat /etc/pam.d/su", **ROOT_DEBIAN),
]


def _root_output(facts: Facts, name: str) -> str:
    result = facts[name]
    assert result.ok, f"{name} failed ({result.rc}): {result.stderr.strip()}"
    return result.stdout


# --- Kubernetes-ready -----------------------------------------------------------------------------

def test_cgroup2_is_the_mounted_hierarchy(facts: Facts) -> None:
    assert facts["cgroup_fs"].stdout.strip() == "cgroup2fs"
    assert "systemd.unified_cgroup_hierarchy" not in facts["cmdline"].stdout


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_containerd_soft_nofile_limit(facts: Facts) -> None:
    limits = _root_output(facts, "containerd_limits")
    line = next((x for x in limits.splitlines() if x.startswith("Max open files")), "")
    assert line.split()[3:4] == [CONTAINERD_NOFILE], f"containerd: {line!r}"
    config = _root_output(facts, "containerd_config")
    assert "SystemdCgroup = true" in config
    # containerd 1.x: bin_dir = "/opt/cni/bin"; 2.x: bin_dirs = ['/opt/cni/bin']
    assert re.search(r"""^\s*bin_dirs? = \[?["']/opt/cni/bin["']""", config, re.MULTILINE), "CNI bin dir"


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_apparmor_enabled_with_profiles(facts: Facts) -> None:
    assert _root_output(facts, "apparmor_enabled").strip() == "Y"
    profiles = _root_output(facts, "apparmor_profiles").strip()
    assert profiles, "AppArmor is enabled but no profile is loaded"
    assert facts["aa_status"].rc == 0


# --- hardware and ops ------------------------------------------------------------------------------

@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_nvme_identity_generated_at_first_boot(facts: Facts) -> None:
    """The image ships none (every machine would share it); nvme-hostid.service makes one."""
    lines = [*facts["nvme_ids"].stdout.splitlines(), "", ""]
    nqn, hostid = lines[0].strip(), lines[1].strip()
    assert NQN.match(nqn), f"/etc/nvme/hostnqn: {nqn!r}"
    # nvme-cli derives the NQN's uuid from the host id: both name the same machine
    assert nqn.endswith(":uuid:" + hostid), (nqn, hostid)
    assert hostid.strip("0-"), f"/etc/nvme/hostid is blank: {hostid!r}"


@pytest.mark.roles("machine")
@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_iptables_legacy_on_machines(facts: Facts) -> None:
    assert "(legacy)" in facts["iptables_version"].stdout


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_watchdog_armed_and_fed(facts: Facts) -> None:
    """The image arms the hardware watchdog with 60 s and the daemon feeds it (docs/build.md,
    "Watchdog"); the VM has an i6300esb for it, with qemu's action set to none."""
    if facts["watchdog_state"].stdout.strip() == NO_VM_WATCHDOG:
        # a real machine's watchdog is the BMC's (ipmi_watchdog, which every image has)
        pytest.skip("the image's kernel has no loadable i6300esb driver (missing or blacklisted), "
                    "the VM's only watchdog device")
    assert facts["watchdog_state"].stdout.strip() == "active", \
        "watchdog0 is not active: " + facts["watchdog_status"].stdout
    assert facts["watchdog_timeout"].stdout.strip() == WATCHDOG_TIMEOUT


# --- hardening -------------------------------------------------------------------------------------

@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_sshd_effective_hardening(facts: Facts) -> None:
    """`sshd -T` prints what sshd really uses: ours, whatever a drop-in says."""
    effective = _root_output(facts, "sshd_effective")
    for setting in ("allowstreamlocalforwarding no", "permituserrc no", "maxstartups 10:30:60",
                    "permitrootlogin no", "passwordauthentication no", "allowtcpforwarding no"):
        assert setting in effective.splitlines(), f"sshd -T lacks {setting!r}"
    assert re.search(r"^rekeylimit \d+ \d+$", effective, re.MULTILINE), "no RekeyLimit"


@pytest.mark.os_ids(*DEBIAN_FAMILY)
def test_pam_faillock_history_and_su(facts: Facts) -> None:
    auth = _root_output(facts, "pam_auth")
    lockout = r"^auth\s+requisite\s+pam_faillock\.so preauth.*deny=5.*unlock_time=900"
    assert re.search(lockout, auth, re.MULTILINE), auth
    password = _root_output(facts, "pam_password")
    assert re.search(r"^password\s.*pam_unix\.so.*\bremember=5\b", password, re.MULTILINE), password
    su = _root_output(facts, "pam_su")
    assert re.search(r"^auth\s+required\s+pam_wheel\.so\b.*group=root", su, re.MULTILINE)
