"""The firewall routing check's one SSH round trip: its script and how its output is read
(the check itself runs against the booted firewall in `metal-images test`)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from metal_images.checks import routing
from metal_images.proof.harness import FIXTURES


class FakeRoot:
    """Answers `cat /etc/metal/install.yaml` with the VM fixture."""

    def check_output(self, command: str) -> str:
        assert command == "cat /etc/metal/install.yaml"
        return (FIXTURES / "install-firewall.yaml").read_text()


def networks() -> routing.Networks:
    return routing._networks(FakeRoot())  # type: ignore[arg-type]


def test_networks_are_found_by_type_in_the_vm_fixture() -> None:
    nets = networks()
    assert (routing.vrf(nets.tenant), routing.vrf(nets.internet)) == ("vrf3981", "vrf104009")
    assert nets.storage is not None and routing.vrf(nets.storage) == "vrf3982"
    assert nets.asn == 4200003073
    assert nets.public_stand_in == "172.31.200.1"  # the firewall itself has .3


def test_script_is_valid_shell_and_cleans_up_what_it_adds() -> None:
    script = routing._script(networks())
    assert subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0
    assert "ip addr add 172.31.200.1/32 dev vrf3981" in script
    assert "ip addr del 172.31.200.1/32 dev vrf3981" in script
    assert "ip route add blackhole 0.0.0.0/0 vrf vrf104009" in script
    assert "ip route del blackhole 0.0.0.0/0 vrf vrf104009" in script
    assert script.index("trap cleanup EXIT") < script.index("ip addr add")
    for vrf in ("vrf3981", "vrf104009", "vrf3982"):
        assert f"vtysh -c 'show bgp vrf {vrf} ipv4 unicast json'" in script


def table(*prefixes: str) -> dict[str, Any]:
    return {"vrfName": "x", "routes": {p: [{"valid": True}] for p in prefixes}}


def test_output_is_split_per_vrf() -> None:
    detail = {"prefix": "10.0.16.2/32", "paths": [{"community": {"string": "no-export"}}]}
    output = "".join(
        f"{routing.MARK}{name}\n{json.dumps(body, indent=2)}\n"
        for name, body in (
            ("vrf3981", table("0.0.0.0/0", "10.0.18.2/32")),
            ("vrf104009", table("0.0.0.0/0", "172.31.200.1/32", "10.0.16.2/32")),
            ("vrf3982", table("10.0.16.2/32")),
            ("detail", detail),
        )
    )
    facts = routing._parse(output, networks())
    assert sorted(facts.routes(facts.nets.tenant)) == ["0.0.0.0/0", "10.0.18.2/32"]
    assert "0.0.0.0/0" not in facts.routes(yaml.safe_load("{vrf: 3982}"))
    assert facts.tenant_ip_in_internet == detail


def facts_with(storage: dict[str, Any], community: str = "no-export") -> routing.Facts:
    nets = networks()
    tables = {
        "vrf3981": table("0.0.0.0/0", "10.0.18.2/32")["routes"],
        "vrf104009": table("0.0.0.0/0", "172.31.200.1/32", "10.0.16.2/32")["routes"],
        "vrf3982": storage["routes"],
    }
    return routing.Facts(nets, tables, {"paths": [{"community": {"string": community}}]})


CHECKS = [
    routing.test_tenant_public_address_reaches_the_internet_vrf,
    routing.test_tenant_private_prefix_in_the_internet_vrf_is_no_export,
    routing.test_tenant_gets_the_internet_default_route_but_not_the_firewalls_own_ip,
    routing.test_storage_prefix_in_the_tenant_vrf,
    routing.test_storage_vrf_has_no_internet_default_route,
]


def test_the_checks_pass_on_the_leaking_metal_networker_promises() -> None:
    for check in CHECKS:
        check(facts_with(table("10.0.16.2/32")))


def test_the_checks_fail_when_storage_gets_the_default_route_or_export_is_allowed() -> None:
    with pytest.raises(AssertionError, match="vrf3982 got the internet's default route"):
        routing.test_storage_vrf_has_no_internet_default_route(facts_with(table("10.0.16.2/32", "0.0.0.0/0")))
    with pytest.raises(AssertionError):
        routing.test_tenant_private_prefix_in_the_internet_vrf_is_no_export(facts_with(table(), community=""))
