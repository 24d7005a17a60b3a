"""A firewall's route leaking between its VRFs, read from each VRF's BGP table (issue 12.9).

The test switch carries no EVPN, so the routes a partition would bring are made on the
firewall itself for the duration of the check, where they would arrive: a public /32 of
a tenant machine as an address on the tenant's VRF device (a connected /32 in the VRF,
as a MetalLB IP behind the firewall would be a /32 route there), and the internet's
default route originated in the internet VRF. Then, in one SSH round trip, every VRF's
table is read with the image's own vtysh, and the stand-ins are removed again. What
metal-networker's route-maps promise:
- the tenant's public addresses reach the internet VRF, its private prefix only with
  `no-export`, the firewall's own public IP never comes back into the tenant;
- the tenant gets the internet's default route and the storage network's prefix;
- the storage VRF sees the tenant, never the internet's default route.
The networks are read from the firewall's /etc/metal/install.yaml by networktype.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from .plugin import Root

MARK = "=== metal-images vrf table "
WAIT_SECONDS = 60


@dataclass(frozen=True)
class Networks:
    asn: int
    tenant: dict[str, Any]
    internet: dict[str, Any]
    storage: dict[str, Any] | None

    @property
    def public_stand_in(self) -> str:
        """An address of the internet network's prefix the firewall does not use itself."""
        network = ipaddress.ip_network(self.internet["prefixes"][0], strict=False)
        used = {str(ip) for ip in self.internet["ips"]}
        return next(str(ip) for ip in network.hosts() if ip.version == 4 and str(ip) not in used)


def vrf(network: dict[str, Any]) -> str:
    return f"vrf{network['vrf']}"


def host_route(ip: str) -> str:
    return f"{ip}/{ipaddress.ip_address(ip).max_prefixlen}"


def _networks(root: Root) -> Networks:
    config = yaml.safe_load(root.check_output("cat /etc/metal/install.yaml"))
    by_type: dict[str, list[dict[str, Any]]] = {}
    for network in config.get("networks") or []:
        by_type.setdefault(str(network.get("networktype")), []).append(network)
    primaries = by_type.get("privateprimaryunshared", []) + by_type.get("privateprimaryshared", [])
    tenant = primaries[0] if primaries else None
    internet = next(
        (n for n in by_type.get("external", []) if "0.0.0.0/0" in (n.get("destinationprefixes") or [])), None
    )
    storage = next(
        (n for n in by_type.get("privatesecondaryshared", []) if not n.get("destinationprefixes")), None
    )
    if tenant is None or internet is None:
        pytest.skip("install.yaml has no tenant network or no internet network")
    underlay = by_type["underlay"][0]
    return Networks(asn=int(underlay["asn"]), tenant=tenant, internet=internet, storage=storage)


def _script(nets: Networks) -> str:
    """Add the stand-ins, wait until both have leaked, dump every VRF's table, clean up."""
    tenant, internet = vrf(nets.tenant), vrf(nets.internet)
    public = host_route(nets.public_stand_in)
    vrfs = [tenant, internet] + ([vrf(nets.storage)] if nets.storage else [])
    # vtysh arguments entering the internet VRF's IPv4 family
    router = shlex.quote(f"router bgp {nets.asn} vrf {internet}")
    family = f"-c 'configure terminal' -c {router} -c 'address-family ipv4 unicast'"
    tenant_ip = host_route(str(nets.tenant["ips"][0]))
    lines = [
        "cleanup() {",
        f"  vtysh {family} -c 'no network 0.0.0.0/0' >/dev/null",
        f"  ip route del blackhole 0.0.0.0/0 vrf {internet} 2>/dev/null",
        f"  ip addr del {public} dev {tenant} 2>/dev/null",
        "}",
        "trap cleanup EXIT",
        f"ip addr add {public} dev {tenant}",
        # a kernel route satisfies BGP's import check for the `network` statement
        f"ip route add blackhole 0.0.0.0/0 vrf {internet}",
        f"vtysh {family} -c 'network 0.0.0.0/0' >/dev/null",
        f"for i in $(seq {WAIT_SECONDS}); do",
        f"  vtysh -c 'show bgp vrf {tenant} ipv4 unicast 0.0.0.0/0 json' | grep -q '\"paths\"' &&"
        f" vtysh -c 'show bgp vrf {internet} ipv4 unicast {public} json' | grep -q '\"paths\"' && break",
        "  sleep 1",
        "done",
    ]
    for name in vrfs:
        lines += [f"echo '{MARK}{name}'", f"vtysh -c 'show bgp vrf {name} ipv4 unicast json'"]
    lines += [f"echo '{MARK}detail'", f"vtysh -c 'show bgp vrf {internet} ipv4 unicast {tenant_ip} json'"]
    return "\n".join(lines)


@dataclass(frozen=True)
class Facts:
    nets: Networks
    tables: dict[str, dict[str, Any]]  # VRF -> its routes (prefix -> paths)
    tenant_ip_in_internet: dict[str, Any]

    def routes(self, network: dict[str, Any]) -> dict[str, Any]:
        return self.tables.get(vrf(network), {})


def _parse(output: str, nets: Networks) -> Facts:
    sections: dict[str, str] = {}
    name = ""
    for line in output.splitlines():
        if line.startswith(MARK):
            name = line[len(MARK) :]
            sections[name] = ""
        elif name:
            sections[name] += line + "\n"
    tables = {k: json.loads(v or "{}").get("routes", {}) for k, v in sections.items() if k != "detail"}
    return Facts(nets, tables, json.loads(sections.get("detail") or "{}"))


@pytest.fixture(scope="module")
def facts(root: Root) -> Facts:
    nets = _networks(root)
    return _parse(root.check_output(_script(nets)), nets)


@pytest.mark.roles("firewall")
def test_tenant_public_address_reaches_the_internet_vrf(facts: Facts) -> None:
    public = host_route(facts.nets.public_stand_in)
    assert public in facts.routes(facts.nets.internet), f"{public} not leaked into {vrf(facts.nets.internet)}"


@pytest.mark.roles("firewall")
def test_tenant_private_prefix_in_the_internet_vrf_is_no_export(facts: Facts) -> None:
    paths = facts.tenant_ip_in_internet.get("paths") or []
    assert paths, f"{facts.nets.tenant['ips'][0]} not in {vrf(facts.nets.internet)}"
    communities = [str((p.get("community") or {}).get("string", "")) for p in paths]
    assert all("no-export" in c for c in communities), communities


@pytest.mark.roles("firewall")
def test_tenant_gets_the_internet_default_route_but_not_the_firewalls_own_ip(facts: Facts) -> None:
    tenant = facts.routes(facts.nets.tenant)
    assert "0.0.0.0/0" in tenant, f"no default route in {vrf(facts.nets.tenant)}: {sorted(tenant)}"
    own = [host_route(str(ip)) for ip in facts.nets.internet["ips"]]
    assert not [r for r in own if r in tenant], f"the firewall's own public IP leaked into the tenant: {own}"


@pytest.mark.roles("firewall")
def test_storage_prefix_in_the_tenant_vrf(facts: Facts) -> None:
    if facts.nets.storage is None:
        pytest.skip("install.yaml has no storage network")
    storage_ip = host_route(str(facts.nets.storage["ips"][0]))
    assert storage_ip in facts.routes(facts.nets.tenant), f"{storage_ip} not in {vrf(facts.nets.tenant)}"


@pytest.mark.roles("firewall")
def test_storage_vrf_has_no_internet_default_route(facts: Facts) -> None:
    if facts.nets.storage is None:
        pytest.skip("install.yaml has no storage network")
    assert "0.0.0.0/0" in facts.routes(facts.nets.internet), "the stand-in default route is missing"
    storage = facts.routes(facts.nets.storage)
    tenant_ip = host_route(str(facts.nets.tenant["ips"][0]))
    assert tenant_ip in storage, f"the tenant is not reachable from {vrf(facts.nets.storage)}"
    assert "0.0.0.0/0" not in storage, f"{vrf(facts.nets.storage)} got the internet's default route"
    assert host_route(facts.nets.public_stand_in) not in storage
