"""`check` on hand-made archives: a good one passes, each broken one fails with its rule id."""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from metal_images.artifact import registry
from metal_images.contract.report import Report, Result, check_archive
from metal_images.contract.rules import RULES
from tests.support import archive_sample as sample
from tests.support.archive_sample import Member, directory, file, hardlink, symlink


def failing(report: Report) -> set[str]:
    return {r.rule.id for r in report.results if r.status == "fail"}


def check_members(tmp_path: Path, members: list[Member], **kwargs: object) -> Report:
    path = sample.write_archive(tmp_path, members, **kwargs)  # type: ignore[arg-type]
    return check_archive(str(path))


def without(members: list[Member], name: str) -> list[Member]:
    kept = [m for m in members if m.info.name != name]
    assert len(kept) == len(members) - 1, f"{name} not in the sample"
    return kept


def test_rule_ids_are_unique_and_described() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for r in RULES:
        assert r.description and "\n" not in r.description


def test_good_archive_passes_every_rule(tmp_path: Path) -> None:
    report = check_members(tmp_path, sample.sample_members())
    statuses = {r.rule.id: (r.status, r.reason) for r in report.results}
    not_passing = {k: v for k, v in statuses.items()
                   if v[0] != "pass"
                   and k not in ("sha-sidecars", "firewall-services", "installer-python", "dkms-modules")}
    assert not_passing == {}
    assert report.ok(strict=False)
    assert len(report.facts.entries) == len(sample.sample_members())


BROKEN: dict[str, tuple[str, Callable[[list[Member]], list[Member]]]] = {
    "path traversal": ("tar-names", lambda m: [*m, file("../evil", b"x")]),
    "absolute name": ("tar-names", lambda m: [*m, file("/etc/evil", b"x")]),
    "write through a symlink": (
        "tar-names", lambda m: [*m, symlink("escape", "/etc"), file("escape/shadow", b"x")]),
    "file replacing a symlink": (
        "tar-names", lambda m: [*m, symlink("etc/motd", "/etc/shadow"), file("etc/motd", b"x")]),
    "absolute symlink escaping the root": (
        "tar-links", lambda m: [*m, symlink("etc/evil", "/../../../etc/shadow")]),
    "relative symlink escaping the root": (
        "tar-links", lambda m: [*m, symlink("etc/evil", "../../../etc/shadow")]),
    "hardlink to a later entry": (
        "tar-links", lambda m: [hardlink("early", "install-go"), *m]),
    "device node": ("tar-entry-types", lambda m: [*m, Member(_device("etc/null"))]),
    "two kernels": (
        "kernel", lambda m: [*m, file("boot/System.map-6.1.0-98-amd64"),
                             file("boot/vmlinuz-6.1.0-98-amd64"), file("boot/initrd.img-6.1.0-98-amd64")]),
    "no kernel": ("kernel", lambda m: without(m, f"boot/System.map-{sample.KERNEL_VERSION}")),
    "no initrd": ("kernel", lambda m: without(m, f"boot/initrd.img-{sample.KERNEL_VERSION}")),
    "kernel not a bzImage": (
        "kernel-bzimage", lambda m: [x if not x.info.name.startswith("boot/vmlinuz")
                                     else file(x.info.name, b"\x7fELF" + bytes(2000)) for x in m]),
    "no installer": ("installer", lambda m: without(m, "install-go")),
    "installer not executable": (
        "installer", lambda m: [*without(m, "install-go"), file("install-go", b"#!/bin/sh\n", 0o644)]),
    "unknown os": (
        "os-release",
        lambda m: [*without(m, "usr/lib/os-release"), file("usr/lib/os-release", b"ID=arch\n")]),
    "missing tool": ("tools", lambda m: without(m, "usr/sbin/vtysh")),
    "uid 1000 taken": (
        "uid-1000-free",
        lambda m: [*without(m, "etc/passwd"),
                   file("etc/passwd", b"root:x:0:0::/root:/bin/bash\nubuntu:x:1000:1000::/u:/bin/sh\n")]),
    "no sudo group": ("sudo-group", lambda m: [*without(m, "etc/group"), file("etc/group", b"root:x:0:\n")]),
    "no networker dir": ("networker-dir", lambda m: without(m, "etc/metal/networker")),
    "fstab is a symlink": (
        "hammer-write-paths", lambda m: [*without(m, "etc/fstab"), symlink("etc/fstab", "/etc/passwd")]),
}


def _device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = 1, 3
    return info


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_archive_is_refused_with_its_rule(tmp_path: Path, case: str) -> None:
    rule_id, breaker = BROKEN[case]
    report = check_members(tmp_path, breaker(sample.sample_members()))
    assert rule_id in failing(report), [(r.rule.id, r.status, r.reason) for r in report.results]
    assert not report.ok()


def test_pax_global_header_is_refused(tmp_path: Path) -> None:
    report = check_members(tmp_path, sample.sample_members(), pax_global={"comment": "made by hand"})
    assert failing(report) == {"tar-no-global-header"}


def test_truncated_lz4_is_refused(tmp_path: Path) -> None:
    path = sample.write_archive(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    report = check_archive(str(path))
    assert "lz4-frame" in failing(report)
    lz4_result = next(r for r in report.results if r.rule.id == "lz4-frame")
    assert "truncated" in lz4_result.reason
    # content rules are not judged on half an archive
    assert next(r for r in report.results if r.rule.id == "kernel").status == "skip"


def test_garbage_is_not_an_lz4_frame(tmp_path: Path) -> None:
    path = tmp_path / registry.IMAGE
    path.write_bytes(b"this is not lz4" * 100)
    assert "lz4-frame" in failing(check_archive(str(path)))


def test_wrong_md5_is_refused(tmp_path: Path) -> None:
    path = sample.write_archive(tmp_path)
    (tmp_path / registry.MD5).write_text(f"{hashlib.md5(b'other').hexdigest()}  img.tar.lz4\n")
    report = check_archive(str(path))
    assert failing(report) == {"md5-sidecar"}


def test_md5_without_a_space_fails_like_metal_hammer(tmp_path: Path) -> None:
    path = sample.write_archive(tmp_path)
    (tmp_path / registry.MD5).write_text(hashlib.md5(path.read_bytes()).hexdigest() + "\n")
    assert failing(check_archive(str(path))) == {"md5-sidecar"}


def test_missing_md5_is_skipped_not_passed(tmp_path: Path) -> None:
    path = sample.write_archive(tmp_path, md5=False)
    report = check_archive(str(path))
    md5 = next(r for r in report.results if r.rule.id == "md5-sidecar")
    assert md5.status == "skip"
    assert report.ok() and not report.ok(strict=True)


def test_firewall_needs_nft(tmp_path: Path) -> None:
    members = sample.sample_members()  # machine tool set: no nft
    members.append(file("usr/local/bin/firewall-controller", b"", 0o755))
    report = check_members(tmp_path, members)
    tools = next(r for r in report.results if r.rule.id == "tools")
    assert tools.status == "fail" and "nft" in tools.reason


def test_good_firewall_passes_every_rule(tmp_path: Path) -> None:
    report = check_members(tmp_path, sample.sample_members(role="firewall"))
    not_passing = {r.rule.id: r.reason for r in report.results
                   if r.status != "pass"
                   and r.rule.id not in ("sha-sidecars", "installer-python", "dkms-modules")}
    assert not_passing == {}


def _replace(members: list[Member], replacement: Member) -> list[Member]:
    return [*without(members, replacement.info.name), replacement]


FIREWALL_BROKEN: dict[str, tuple[str, Callable[[list[Member]], list[Member]]]] = {
    "no chrony template": (
        "no chrony@.service", lambda m: without(m, "usr/lib/systemd/system/chrony@.service")),
    "chrony outside the VRF": (
        "does not run chronyd in `ip vrf exec %i`",
        lambda m: _replace(m, file("usr/lib/systemd/system/chrony@.service",
                                   b"[Service]\nExecStart=/usr/sbin/chronyd -F 1\n"))),
    "rules not included": (
        'does not include "/etc/nftables/*"',
        lambda m: _replace(m, file("etc/nftables.conf", b"flush ruleset\n"))),
    "no node exporter": (
        "/usr/local/bin/node_exporter missing", lambda m: without(m, "usr/local/bin/node_exporter")),
    "suricata off": (
        "suricata.service not enabled",
        lambda m: without(m, "etc/systemd/system/multi-user.target.wants/suricata.service")),
}


@pytest.mark.parametrize("case", sorted(FIREWALL_BROKEN))
def test_broken_firewall_fails_firewall_services(tmp_path: Path, case: str) -> None:
    reason, breaker = FIREWALL_BROKEN[case]
    report = check_members(tmp_path, breaker(sample.sample_members(role="firewall")))
    result = next(r for r in report.results if r.rule.id == "firewall-services")
    assert result.status == "fail" and reason in result.reason, result.reason
    assert failing(report) == {"firewall-services"}


def test_machine_skips_firewall_services(tmp_path: Path) -> None:
    report = check_members(tmp_path, sample.sample_members())
    assert next(r for r in report.results if r.rule.id == "firewall-services").status == "skip"


def test_ignition_for_dracut_only_counts(tmp_path: Path) -> None:
    """Debian and Ubuntu package ignition under dracut's module directory, not on PATH."""
    members = without(sample.sample_members(os_id="ubuntu"), "usr/sbin/ignition")

    def tools(ms: list[Member]) -> Result:
        return next(r for r in check_members(tmp_path, ms).results if r.rule.id == "tools")

    missing = tools(members)
    assert missing.status == "fail" and "ignition" in missing.reason
    dracut = [directory(d) for d in ("usr/lib/dracut", "usr/lib/dracut/modules.d",
                                     "usr/lib/dracut/modules.d/30ignition")]
    found = tools([*members, *dracut, file("usr/lib/dracut/modules.d/30ignition/ignition", b"", 0o755)])
    assert found.status == "pass", found.reason


def test_tools_found_through_usrmerge_symlinks(tmp_path: Path) -> None:
    members = [m for m in sample.sample_members() if m.info.name != "usr/sbin/ip"]
    members.append(symlink("sbin", "usr/bin"))
    members.append(file("usr/bin/ip", b"", 0o755))
    report = check_members(tmp_path, members)
    assert "tools" not in failing(report)


def test_pseudo_fs_content_is_a_warning(tmp_path: Path) -> None:
    report = check_members(tmp_path, [*sample.sample_members(), file("run/stale.pid", b"1")])
    result = next(r for r in report.results if r.rule.id == "pseudo-fs-empty")
    assert result.status == "warn" and "run/stale.pid" in result.reason
    assert report.ok() and not report.ok(strict=True)


def test_rhel_image_needs_rhel_tools_and_initramfs(tmp_path: Path) -> None:
    members = sample.sample_members("almalinux")
    members = [m for m in members if not m.info.name.startswith("boot/initrd.img")]
    members.append(file(f"boot/initramfs-{sample.KERNEL_VERSION}.img", b"x"))
    report = check_members(tmp_path, members)
    assert failing(report) == set()
    assert not check_members(tmp_path / "2", without(members, "usr/sbin/dracut")).ok()


def test_directory_entries_may_be_implicit(tmp_path: Path) -> None:
    members = [m for m in sample.sample_members() if not m.info.isdir()]
    members.append(directory("etc/metal/networker"))
    report = check_members(tmp_path, members)
    assert failing(report) == set()


def _warning(report: Report, rule_id: str) -> str:
    result = next(r for r in report.results if r.rule.id == rule_id)
    assert result.status == "warn", (result.status, result.reason)
    return result.reason


def test_no_lldp_daemon_warns(tmp_path: Path) -> None:
    report = check_members(tmp_path, without(sample.sample_members(), "usr/sbin/lldpcli"))
    assert "never phones home" in _warning(report, "lldp-daemon")
    assert report.ok(strict=False)


def test_lldpd_not_enabled_warns(tmp_path: Path) -> None:
    members = without(sample.sample_members(), "etc/systemd/system/multi-user.target.wants/lldpd.service")
    assert "lldpd.service is not enabled" in _warning(check_members(tmp_path, members), "lldp-daemon")


def test_go_lldpd_counts_as_a_daemon(tmp_path: Path) -> None:
    members = without(without(sample.sample_members(), "usr/sbin/lldpd"), "usr/sbin/lldpcli")
    members += [directory("usr/local"), directory("usr/local/bin"),
                file("usr/local/bin/lldpd", b"\x7fELF", 0o755)]
    result = next(r for r in check_members(tmp_path, members).results if r.rule.id == "lldp-daemon")
    assert result.status == "pass", result.reason


def test_baked_nvme_identity_warns(tmp_path: Path) -> None:
    members = [*sample.sample_members(), directory("etc/nvme"),
               file("etc/nvme/hostnqn", b"nqn.2014-08.org.nvmexpress:uuid:0\n")]
    assert "/etc/nvme/hostnqn baked" in _warning(check_members(tmp_path, members), "no-baked-nvme-identity")


def _with_install_sh(os_id: str, python: list[Member]) -> list[Member]:
    """The sample with /install.sh instead of install-go, and the given python3 files."""
    members = without(sample.sample_members(os_id), "install-go")
    return [*members, file("install.sh", b"PK", 0o755), *python]


def _python(version: str, lib: str, packages: str) -> list[Member]:
    site = f"{lib}/python{version}/{packages}" if packages == "site-packages" else f"{lib}/python3/{packages}"
    return [symlink("usr/bin/python3", f"python{version}"), file(f"usr/bin/python{version}", b"", 0o755),
            file(f"{lib}/python{version}/os.py", b""), file(f"{site}/yaml/__init__.py", b"")]


@pytest.mark.parametrize(("os_id", "python", "problem"), [
    ("almalinux", _python("3.9", "usr/lib64", "site-packages"), None),
    ("debian", _python("3.11", "usr/lib", "dist-packages"), None),
    ("centos", _python("3.6", "usr/lib64", "site-packages"),
     "/usr/bin/python3 is 3.6; /install.sh needs 3.9"),
    ("almalinux", _python("3.9", "usr/lib64", "site-packages")[:3], "PyYAML missing"),
    ("almalinux", [], "/usr/bin/python3 missing"),
])
def test_installer_python(tmp_path: Path, os_id: str, python: list[Member], problem: str | None) -> None:
    report = check_members(tmp_path, _with_install_sh(os_id, python))
    result = next(r for r in report.results if r.rule.id == "installer-python")
    if problem is None:
        assert result.status == "pass", result.reason
    else:
        assert result.status == "fail" and result.reason.startswith(problem), result.reason


def test_rhel_services_include_chronyd(tmp_path: Path) -> None:
    members = sample.sample_members("almalinux")
    result = next(r for r in check_members(tmp_path, members).results if r.rule.id == "services")
    assert result.status == "warn" and result.reason == "chronyd.service not enabled"
    members.append(symlink("etc/systemd/system/multi-user.target.wants/chronyd.service",
                           "/usr/lib/systemd/system/chronyd.service"))
    result = next(r for r in check_members(tmp_path / "2", members).results if r.rule.id == "services")
    assert result.status == "pass", result.reason
