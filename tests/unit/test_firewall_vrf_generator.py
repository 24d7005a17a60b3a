"""The firewall's systemd VRF generator, run as systemd runs it, on unit files made here."""

from __future__ import annotations

import subprocess
from pathlib import Path

GENERATOR = (Path(__file__).resolve().parents[2]
             / "images/firewall/context/etc/systemd/system-generators/systemd-vrf-generator")

CHRONY_UNIT = """\
[Unit]
Description=chrony, an NTP client/server
Conflicts=systemd-timesyncd.service

[Service]
Type=forking
PIDFile=/run/chrony/chronyd.pid
EnvironmentFile=-/etc/default/chrony
ExecStart=!/usr/sbin/chronyd $DAEMON_OPTS
ExecStartPost=-/usr/lib/chrony/chrony-helper update-daemon
ExecStop=
ExecStopPost = @/bin/sh sh -c "echo stopped"
PrivateTmp=yes

[Install]
Alias=chronyd.service
WantedBy=multi-user.target
"""


def run_generator(tmp_path: Path, services: str, units: dict[str, str],
                  masked: tuple[str, ...] = ()) -> tuple[Path, subprocess.CompletedProcess[str]]:
    etc, lib, out = tmp_path / "etc", tmp_path / "lib", tmp_path / "out"
    for folder in (etc, lib, out):
        folder.mkdir()
    for name, text in units.items():
        (lib / name).write_text(text)
    for name in masked:
        (etc / name).symlink_to("/dev/null")
    conf = tmp_path / "systemd.conf"
    conf.write_text(services)
    result = subprocess.run(
        ["sh", str(GENERATOR), str(out), str(tmp_path / "early"), str(tmp_path / "late")],
        env={"PATH": "/usr/bin:/bin", "VRF_GENERATOR_CONF": str(conf),
             "VRF_GENERATOR_UNIT_PATH": f"{etc} {lib}"},
        capture_output=True, text=True, check=True,
    )
    return out, result


def test_template_runs_every_command_in_the_vrf(tmp_path: Path) -> None:
    out, _ = run_generator(tmp_path, "chrony\n", {"chrony.service": CHRONY_UNIT},
                           masked=("chrony.service",))
    lines = (out / "chrony@.service").read_text().splitlines()
    assert "ExecStart=!/bin/ip vrf exec %i /usr/sbin/chronyd $DAEMON_OPTS" in lines
    assert "ExecStartPost=-/bin/ip vrf exec %i /usr/lib/chrony/chrony-helper update-daemon" in lines
    assert "ExecStop=" in lines  # a reset stays a reset
    # `@path argv0 args`: argv0 has no place behind ip vrf exec
    assert 'ExecStopPost=/bin/ip vrf exec %i /bin/sh -c "echo stopped"' in lines
    assert "Description=chrony, an NTP client/server in VRF %i" in lines
    assert not any(line.startswith("Alias=") for line in lines)
    assert "WantedBy=multi-user.target" in lines and "PrivateTmp=yes" in lines
    exec_lines = [line for line in lines if line.startswith("Exec") and not line.endswith("=")]
    assert exec_lines and all("/bin/ip vrf exec %i " in line for line in exec_lines)


def test_comments_blank_lines_and_unknown_services(tmp_path: Path) -> None:
    out, result = run_generator(
        tmp_path, "# services in the internet VRF\n\nchrony.service  # NTP\nmissing\n",
        {"chrony.service": CHRONY_UNIT},
    )
    assert sorted(p.name for p in out.iterdir()) == ["chrony@.service"]
    assert "no unit file for missing.service" in result.stderr


def test_without_a_config_nothing_is_generated(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["sh", str(GENERATOR), str(out)],
                   env={"PATH": "/usr/bin:/bin", "VRF_GENERATOR_CONF": str(tmp_path / "none")},
                   check=True)
    assert list(out.iterdir()) == []


def test_output_directory_is_required() -> None:
    result = subprocess.run(["sh", str(GENERATOR)], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode != 0 and "usage" in result.stderr


def test_a_masked_only_unit_is_skipped(tmp_path: Path) -> None:
    out, result = run_generator(tmp_path, "chrony\n", {}, masked=("chrony.service",))
    assert list(out.iterdir()) == [] and "skipped" in result.stderr
