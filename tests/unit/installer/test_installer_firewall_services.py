"""The firewall's services as the installer renders them from install.yaml (services.py),
/etc/hosts (system.py) and chrony.conf.

Golden cases with our own inputs (golden_firewall/inputs/) and expected files
(golden_firewall/services/<case>/<path in the image>), written from our reading of
metal-networker's and os-installer's service templates; regenerate after an intended
change with `UPDATE_GOLDEN=1 pytest tests/unit/installer/test_installer_firewall_services.py`
and review the diff. The focused tests pin the behaviour that matters one line at a time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from installer_fakes import FakeRunner, make_tree

from metal_images.installer import config
from metal_images.installer.context import Context
from metal_images.installer.errors import InstallError
from metal_images.installer.network import configure, services, system
from metal_images.installer.network.plan import plan
from metal_images.installer.target import Target

HERE = Path(__file__).parent
INPUTS = HERE / "golden_firewall" / "inputs"
GOLDEN = HERE / "golden_firewall" / "services"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CASES = ("standard", "vpn", "dmz_app")


def load(name: str, edit: tuple[str, str] | None = None) -> config.InstallConfig:
    text = (INPUTS / f"{name}.yaml").read_text()
    if edit is not None:
        assert edit[0] in text
        text = text.replace(*edit)
    return config.parse(text)


def render(name: str, edit: tuple[str, str] | None = None) -> services.FirewallServices:
    parsed = load(name, edit)
    return services.render(parsed, plan(parsed))


def value(unit: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith(f"{key}=")]


def unit(rendered: services.FirewallServices, name: str) -> str:
    return rendered.files[f"/etc/systemd/system/{name}"].content


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    rendered = render(case)
    directory = GOLDEN / case
    for path, file in rendered.files.items():
        expected = directory / path.lstrip("/")
        if UPDATE:
            expected.parent.mkdir(parents=True, exist_ok=True)
            expected.write_text(file.content)
        assert file.content == expected.read_text(), path
    written = {"/" + str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}
    assert written == set(rendered.files)


def test_droptailer_uses_the_names_its_client_reads() -> None:
    droptailer = unit(render("standard"), "droptailer.service")
    assert value(droptailer, "Environment") == [
        "DROPTAILER_SERVER_ADDRESS=droptailer:50051",
        'DROPTAILER_PREFIXES_OF_DROPS="nftables-metal-dropped: ,nftables-firewall-dropped: "',
        # firewall-controller writes the client certificate under these names
        "DROPTAILER_CLIENT_CERTIFICATE=/etc/droptailer-client/droptailer-client.crt",
        "DROPTAILER_CLIENT_KEY=/etc/droptailer-client/droptailer-client.key",
    ]
    assert value(droptailer, "ExecStart") == ["/bin/ip vrf exec vrf4101 /usr/local/bin/droptailer-client"]
    assert value(droptailer, "WantedBy") == ["firewall-controller.service"]


def test_services_run_in_the_vrf_where_they_are_reached() -> None:
    rendered = render("standard")
    assert value(unit(rendered, "firewall-controller.service"), "ExecStart") == [
        "/bin/ip vrf exec vrf104200 /usr/local/bin/firewall-controller"]
    assert value(unit(rendered, "suricata-update.service"), "ExecStart") == [
        "/bin/ip vrf exec vrf104200 /usr/bin/suricata-update"]
    # the exporters listen outside any VRF; the nftables input chain admits the private VRFs only
    assert value(unit(rendered, "node-exporter.service"), "ExecStart") == [
        "/usr/local/bin/node_exporter --collector.tcpstat"]
    assert value(unit(rendered, "nftables-exporter.service"), "ExecStart") == [
        "/usr/bin/nftables-exporter --config=/etc/nftables_exporter.yaml"]
    assert "IFACE=vlan104200\n" in rendered.files["/etc/default/suricata"].content


def test_an_app_firewall_without_internet_uses_the_dmz() -> None:
    rendered = render("dmz_app")
    assert value(unit(rendered, "firewall-controller.service"), "ExecStart") == [
        "/bin/ip vrf exec vrf4103 /usr/local/bin/firewall-controller"]
    assert "IFACE=vlan4103\n" in rendered.files["/etc/default/suricata"].content
    assert system.chrony_unit(load("dmz_app")) == ["chrony@vrf4103.service"]


def test_enabled_are_the_exporters_and_suricata_update_not_the_userdatas_units() -> None:
    rendered = render("standard")
    assert rendered.enable == [
        "nftables-exporter.service", "node-exporter.service", "suricata-update.service"]
    assert rendered.programs["firewall-controller.service"] == "/usr/local/bin/firewall-controller"
    assert rendered.programs["droptailer.service"] == "/usr/local/bin/droptailer-client"


def test_no_vpn_no_tailscale() -> None:
    rendered = render("standard")
    assert not [path for path in rendered.files if "tailscale" in path]


def test_vpn_joins_named_after_the_machine_with_the_key_in_a_root_only_unit() -> None:
    rendered = render("vpn")
    daemon = unit(rendered, "tailscaled.service")
    join = unit(rendered, "tailscale-up.service")
    assert value(daemon, "ExecStart") == ["/bin/ip vrf exec vrf104200 /usr/local/bin/tailscaled --port 41641"]
    assert value(daemon, "Environment") == ['"TS_NO_LOGS_NO_SUPPORT=true"']
    assert value(join, "ExecStart") == [
        "/bin/ip vrf exec vrf104200 /usr/local/bin/tailscale up "
        "--hostname 7d1c9a52-3f4e-4b8a-9c61-0e2f5a8b4d17 "
        "--auth-key tskey-test-0123456789 --login-server https://headscale.example.internal"]
    assert rendered.files["/etc/systemd/system/tailscale-up.service"].mode == 0o600
    assert rendered.files["/etc/systemd/system/tailscaled.service"].mode != 0o600
    assert "tskey" not in daemon
    assert rendered.enable[-2:] == ["tailscaled.service", "tailscale-up.service"]


def test_hosts_names_the_private_primary_address_not_the_underlay() -> None:
    parsed = load("standard")
    assert system.hosts(parsed).splitlines()[1:] == ["127.0.0.1\tlocalhost", "10.64.1.1\tfw-test"]


def test_chrony_pools_the_given_servers_or_the_default() -> None:
    assert system.chrony_conf(["10.9.0.123", "ntp.example.internal"]).splitlines()[1:3] == [
        "pool 10.9.0.123 iburst", "pool ntp.example.internal iburst"]
    assert system.chrony_conf([]).splitlines()[1] == "pool time.cloudflare.com iburst"


@pytest.mark.parametrize(
    ("vpn", "message"),
    [
        ("vpn: yes\n", "install.yaml: vpn: expected a mapping"),
        ("vpn:\n  address: https://h.test\n", "install.yaml: vpn.auth_key: missing"),
        ("vpn:\n  address: https://h.test\n  auth_key: 'a b'\n", "install.yaml: vpn.auth_key: 'a b' is not"),
        ("vpn:\n  address: 'h t'\n  auth_key: k\n", "install.yaml: vpn.address: 'h t' is not"),
        ("vpn:\n  address: h.test\n  auth_key: 'k\"$x'\n", "install.yaml: vpn.auth_key:"),
        # tailscale reads the key from the path after `file:`; a leading - would be an option
        ("vpn:\n  address: h.test\n  auth_key: 'file:/etc/shadow'\n", "install.yaml: vpn.auth_key: 'file:"),
        ("vpn:\n  address: h.test\n  auth_key: '--reset'\n", "install.yaml: vpn.auth_key: '--reset' is not"),
    ],
)
def test_bad_vpn_names_the_key(vpn: str, message: str) -> None:
    text = (INPUTS / "standard.yaml").read_text() + vpn
    with pytest.raises(InstallError) as error:
        config.parse(text)
    assert str(error.value).startswith(message)


def _configure(tmp_path: Path, programs: list[str]) -> tuple[Path, FakeRunner, list[str]]:
    root = tmp_path / "root"
    make_tree(root, firewall=True)
    for program in services.render(load("vpn"), plan(load("vpn"))).programs.values():
        (root / program.lstrip("/")).unlink(missing_ok=True)
    for program in programs:
        path = root / program.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
    runner = FakeRunner(root=root, tools=set())
    logged: list[str] = []
    ctx = Context(target=Target(root), runner=runner, env={}, log=logged.append, config=load("vpn"))
    configure(ctx)
    return root, runner, logged


def test_a_unit_without_its_program_skips_itself(tmp_path: Path) -> None:
    """A firewall built without the downloads boots without failed units; the units stay
    metal-networker's and are enabled as upstream enables them."""
    root, runner, logged = _configure(tmp_path, ["/usr/local/bin/node_exporter", "/usr/local/bin/tailscaled"])
    enabled = [call.argv[2] for call in runner.calls if call.argv[:2] == ["systemctl", "enable"]]
    assert enabled[1:] == ["nftables-exporter.service", "node-exporter.service", "suricata-update.service",
                           "tailscaled.service", "tailscale-up.service"]
    units = root / "etc/systemd/system"
    for unit, program in (("firewall-controller.service", "/usr/local/bin/firewall-controller"),
                          ("droptailer.service", "/usr/local/bin/droptailer-client"),
                          ("nftables-exporter.service", "/usr/bin/nftables-exporter"),
                          ("tailscale-up.service", "/usr/local/bin/tailscale")):
        dropin = (units / f"{unit}.d/10-needs-program.conf").read_text()
        assert f"[Unit]\nConditionFileIsExecutable={program}\n" in dropin
        assert any(unit in line and program in line for line in logged), unit
    for present in ("node-exporter.service", "tailscaled.service"):
        assert not (units / f"{present}.d").exists()
    assert "Condition" not in (units / "nftables-exporter.service").read_text()
