"""The phone-home step: lldpd gets System Name and Description from install.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
from installer_fakes import FakeRunner, make_tree, write

from metal_images.installer import lldp
from metal_images.installer.context import Context
from metal_images.installer.errors import InstallError
from metal_images.installer.target import Target

UUID = "e0ab02d2-27cd-5a5e-8efc-080ba80cf258"


def _context(root: Path, install_yaml: str) -> tuple[Context, list[str]]:
    make_tree(root)
    write(root, "/etc/metal/install.yaml", install_yaml, 0o600)
    logged: list[str] = []
    return Context(target=Target(root), runner=FakeRunner(root, set()), env={}, log=logged.append), logged


def test_unquoted_timestamp_is_announced_as_written(tmp_path: Path) -> None:
    # safe_load would make a datetime of it and print `2026-11-25 09:41:43+00:00`
    ctx, _ = _context(tmp_path, f"machineuuid: {UUID}\ntimestamp: 2026-11-25T09:41:43Z\n")
    lldp.configure(ctx)
    text = (tmp_path / "etc/lldpd.d/metal-phone-home.conf").read_text()
    assert f'configure system hostname "{UUID}"\n' in text
    assert 'configure system description "provisioned since 2026-11-25T09:41:43Z"\n' in text
    assert oct((tmp_path / "etc/lldpd.d/metal-phone-home.conf").stat().st_mode & 0o777) == "0o644"


@pytest.mark.parametrize(
    ("install_yaml", "message"),
    [
        ("timestamp: '2026-11-25T09:41:43Z'\n", "machineuuid: missing"),
        (f"machineuuid: {UUID}\n", "timestamp: missing"),
        (f"machineuuid: {UUID}\ntimestamp: '2026\" \\nconfigure system ip'\n", "timestamp:"),
        ("machineuuid: \"a\\nconfigure lldp portidsubtype\"\ntimestamp: x\n", "machineuuid:"),
        ("machineuuid: [a, b]\ntimestamp: x\n", "machineuuid: expected a string"),
        ("- a list\n", "expected a mapping"),
    ],
)
def test_bad_values_never_reach_the_config(tmp_path: Path, install_yaml: str, message: str) -> None:
    ctx, _ = _context(tmp_path, install_yaml)
    with pytest.raises(InstallError, match=message):
        lldp.configure(ctx)
    assert not (tmp_path / "etc/lldpd.d").exists()


def test_go_lldpd_needs_no_config(tmp_path: Path) -> None:
    ctx, logged = _context(tmp_path, f"machineuuid: {UUID}\ntimestamp: now\n")
    for tool in lldp.LLDPD:
        (tmp_path / tool.lstrip("/")).unlink()
    write(tmp_path, lldp.GO_LLDPD, "#!/bin/sh\n", 0o755)
    lldp.configure(ctx)
    assert not (tmp_path / "etc/lldpd.d").exists()
    assert any("go-lldpd" in line for line in logged)


def test_no_daemon_is_a_warning(tmp_path: Path) -> None:
    ctx, logged = _context(tmp_path, f"machineuuid: {UUID}\ntimestamp: now\n")
    for tool in lldp.LLDPD:
        (tmp_path / tool.lstrip("/")).unlink()
    lldp.configure(ctx)
    assert any(line.startswith("warning: no LLDP daemon") for line in logged)


def test_a_bad_timestamp_stops_the_install_before_it_writes(tmp_path: Path) -> None:
    from installer_fakes import FIXTURES, default_handlers

    from metal_images.installer.errors import StepFailed
    from metal_images.installer.steps import install

    make_tree(tmp_path)
    text = (FIXTURES / "install-machine.yaml").read_text()
    assert 'timestamp: "2026-11-25T09:41:43Z"' in text
    write(tmp_path, "/etc/metal/install.yaml", text.replace('timestamp: "2026-11-25T09:41:43Z"',
                                                            'timestamp: "now\\"\\nconfigure x"'), 0o600)
    runner = FakeRunner(tmp_path, set(), default_handlers(tmp_path))
    with pytest.raises(StepFailed, match=r"install\.yaml: timestamp"):
        install(Target(tmp_path), runner, {}, lambda _line: None)
    assert not (tmp_path / "etc/systemd/network").exists()
    assert not (tmp_path / "etc/lldpd.d").exists()
    assert runner.calls == []
