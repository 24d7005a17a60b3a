"""The VM checks a RHEL image gets: its own services (sshd, chronyd), no Debian-only ones."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from metal_images.checks.context import CheckContext
from metal_images.checks.runner import CHECK_MODULES

CTX = CheckContext(
    role="machine", os_id="debian", hostname="machine", router_id="10.1.0.1", asn=4200003073,
    public_key="ssh-ed25519 AAAA test", password="test", macs=["00:03:00:11:11:01"],
    boot_cmdline="console=ttyS1,115200n8", uefi=True, dns_name="test.internal",
    dns_address="10.0.0.53", endpoint_url="http://10.0.0.80/", endpoint_text="hello",
    switch_namespace="switch", switch_vty="/run/frr",
)


class _Names:
    def __init__(self) -> None:
        self.names: list[str] = []

    def pytest_collection_finish(self, session: Any) -> None:
        self.names = [item.name.replace("[local-", "[").replace("[local]", "") for item in session.items]


def collected(os_id: str, tmp_path: Path) -> list[str]:
    context = replace(CTX, os_id=os_id).save(tmp_path / f"{os_id}.json")
    names = _Names()
    code = pytest.main([*(str(m) for m in CHECK_MODULES), "-p", "metal_images.checks.plugin",
                        "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(tmp_path),
                        "-qq", "--collect-only", "--hosts=local://", f"--metal-context={context}"],
                       plugins=[names])
    assert code == pytest.ExitCode.OK
    return names.names


def test_almalinux_gets_rhel_services_and_no_debian_ones(tmp_path: Path) -> None:
    alma = collected("almalinux", tmp_path)
    debian = collected("debian", tmp_path)
    for name in ("test_service_rhel[sshd-True]", "test_service_rhel[chronyd-True]",
                 "test_service_rhel[systemd-networkd-True]", "test_chrony_uses_install_yaml_servers"):
        assert name in alma and name not in debian
    for name in ("test_service[ssh-True]", "test_logrotate_timer", "test_machine_service[containerd-True]"):
        assert name in debian and name not in alma
    assert "test_ntp_synchronized" in alma and "test_ntp_synchronized" in debian
