"""A real build of images/firewall on top of images/ubuntu, and what the tree holds.

Slow (minutes; builds ubuntu first when needed). Needs root, mmdebstrap and Ubuntu's
archive. The downloads (artifacts) are allowed to be missing on machines
without GitHub; whether they came or not, the rest must be right.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.root]


@pytest.fixture(scope="module")
def rootfs(firewall_rootfs: Path) -> Path:
    return firewall_rootfs


def enabled(root: Path, target: str, unit: str) -> bool:
    return (root / "etc/systemd/system" / f"{target}.wants" / unit).is_symlink()


def test_chrony_runs_as_a_vrf_template(rootfs: Path) -> None:
    template = (rootfs / "usr/lib/systemd/system/chrony@.service").read_text()
    assert re.search(r"^ExecStart=[-@:+!]*/bin/ip vrf exec %i \S*chronyd", template, re.M)
    assert "Alias=" not in template
    assert (rootfs / "etc/vrf/systemd.conf").read_text().split() == ["chrony"]
    generator = rootfs / "etc/systemd/system-generators/systemd-vrf-generator"
    assert os.access(generator, os.X_OK)
    assert os.readlink(rootfs / "etc/systemd/system/chrony.service") == "/dev/null"
    sandbox = (rootfs / "etc/systemd/system/chrony@.service.d/proc.conf").read_text()
    assert "ProtectControlGroups=no" in sandbox
    assert not enabled(rootfs, "sysinit.target", "systemd-timesyncd.service")
    assert not (rootfs / "usr/lib/systemd/system/systemd-timesyncd.service").exists()
    assert "pool " in (rootfs / "etc/chrony/chrony.conf").read_text()


def test_suricata_with_hourly_rotation_and_logs_on_var_lib(rootfs: Path) -> None:
    assert enabled(rootfs, "multi-user.target", "suricata.service")
    assert enabled(rootfs, "multi-user.target", "suricata-update.service")
    assert enabled(rootfs, "timers.target", "suricata-update.timer")
    assert enabled(rootfs, "timers.target", "logrotate.timer")
    rotate = (rootfs / "etc/logrotate.d/suricata").read_text()
    assert "/var/log/suricata/*.log" in rotate and "/var/log/suricata/*.json" in rotate and "hourly" in rotate
    assert "OnCalendar=hourly" in (rootfs / "etc/systemd/system/logrotate.timer.d/hourly.conf").read_text()
    assert (rootfs / "var/lib/suricata/log").is_dir()
    assert "L /var/log/suricata - - - - /var/lib/suricata/log" in (
        rootfs / "etc/tmpfiles.d/suricata-log.conf").read_text()
    assert (rootfs / "usr/bin/suricata").is_file() and (rootfs / "usr/bin/suricata-update").is_file()


def test_nftables_node_exporter_and_console(rootfs: Path) -> None:
    conf = (rootfs / "etc/nftables.conf").read_text()
    assert "flush ruleset" in conf and 'include "/etc/nftables/*"' in conf
    assert enabled(rootfs, "sysinit.target", "nftables.service") or enabled(
        rootfs, "multi-user.target", "nftables.service")
    assert "nf_conntrack_acct = 1" in (rootfs / "etc/sysctl.d/10-netfilter.conf").read_text()
    link = rootfs / "usr/local/bin/node_exporter"
    assert os.readlink(link) == "/usr/bin/prometheus-node-exporter"
    assert (rootfs / "usr/bin/prometheus-node-exporter").is_file()
    assert not enabled(rootfs, "multi-user.target", "prometheus-node-exporter.service")
    assert not (rootfs / "etc/systemd/system/getty@.service.d").exists()
    assert not (rootfs / "etc/systemd/system/serial-getty@.service.d").exists()
    assert "consolepassword" in (rootfs / "etc/issue").read_text()


def test_downloads_are_installed_or_left_out_whole(rootfs: Path) -> None:
    controller = rootfs / "usr/local/bin/firewall-controller"
    assert not controller.exists() or os.access(controller, os.X_OK)
    tailscaled = rootfs / "usr/local/bin/tailscaled"
    assert not tailscaled.is_symlink() or tailscaled.resolve().is_file()


def test_suricata_update_reads_the_sources(rootfs: Path) -> None:
    """Every source in /etc/suricata/update.yaml is a URL suricata-update downloads (named
    sources would need `enable-source` and an index), and the tree's own suricata-update
    parses the file and takes them as such: offline, with nothing downloaded yet, the only
    error is the source it would fetch first, named by its URL for the installed suricata.
    Nothing is written to the tree: data goes to the chroot's own tmpfs /tmp."""
    import subprocess

    import yaml

    from metal_images.chroot import chroot_argv, chroot_mounts

    sources = yaml.safe_load((rootfs / "etc/suricata/update.yaml").read_text())["sources"]
    assert sources and all(re.match(r"^https://\S+$", s) for s in sources), sources
    with chroot_mounts(rootfs):
        version = subprocess.run(chroot_argv(rootfs, ["suricata", "-V"]), capture_output=True, text=True,
                                 check=True).stdout
        found = re.search(r"version (\d+(?:\.\d+)+)", version)  # suricata-update uses all of it
        assert found, version
        result = subprocess.run(chroot_argv(rootfs, [
            "suricata-update", "--config", "/etc/suricata/update.yaml", "--data-dir", "/tmp/suricata-data",
            "--offline", "--no-test", "--no-reload"]), capture_output=True, text=True, timeout=300)
    log = result.stdout + result.stderr
    assert "Loading /etc/suricata/update.yaml" in log, log
    urls = {s.replace("%(__version__)s", found.group(1)) for s in sources}
    errors = [line for line in log.splitlines() if "<Error>" in line]
    pattern = re.compile(r"Can't proceed offline, source (\S+) has not yet been downloaded\.$")
    named = {m.group(1) for line in errors if (m := pattern.search(line))}
    assert errors and len(named) == 1 and named <= urls, log
    assert all(pattern.search(line) for line in errors), log
    assert result.returncode == 1, log
