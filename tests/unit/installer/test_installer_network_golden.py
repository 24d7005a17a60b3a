"""Our own golden cases for frr.conf and the networkd files, one per network kind.

Inputs are ours (network_golden/<case>/install.yaml: documentation address ranges,
private ASNs), written from our reading of metal-networker; the expected files sit in
network_golden/<case>/expected/ and are compared byte for byte. The conformance run
(/work/shared/peer/networker/run.py) compares the same renderers with metal-networker's
own golden files; these cases pin the kinds and combinations it has no file for (an
IPv6 or dual-stack machine, a shared primary network, FRR 10 and FRR 8.1 variants).
Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest <this file>` and review
the diff. Besides the bytes, `test_routing_facts` asserts what each case is about.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from metal_images.installer.config import parse
from metal_images.installer.network import frr, networkd
from metal_images.installer.network.plan import plan

CASES = Path(__file__).parent / "network_golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
# extra frr.conf renderings for an FRR release other than "unknown"
VARIANTS: dict[str, list[tuple[str, frr.Version]]] = {
    "machine": [("frr.conf.frr-8.1", (8, 1))],
    "firewall": [("frr.conf.frr-10", (10, 1, 5))],
}
NAMES = sorted(p.name for p in CASES.iterdir() if (p / "install.yaml").is_file())


def rendered(case: str) -> dict[str, str]:
    """expected/<name> -> content of everything the renderers produce for the case."""
    config = parse((CASES / case / "install.yaml").read_text())
    net = plan(config)
    result = {"frr.conf": frr.render(config, net)}
    for name, version in VARIANTS.get(case, []):
        result[name] = frr.render(config, net, version)
    for path, content in networkd.files(net).items():
        result[f"networkd/{Path(path).name}"] = content
    return result


@pytest.mark.parametrize("case", NAMES)
def test_network_files_match_golden(case: str) -> None:
    expected_dir = CASES / case / "expected"
    files = rendered(case)
    if UPDATE:
        for name, content in files.items():
            (expected_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / name).write_text(content)
    expected = {
        str(p.relative_to(expected_dir)): p.read_text() for p in expected_dir.rglob("*") if p.is_file()
    }
    assert sorted(files) == sorted(expected)
    for name, content in files.items():
        assert content == expected[name], f"{case}/expected/{name} differs"


def test_there_is_a_case_per_network_kind() -> None:
    kinds = set()
    for case in NAMES:
        config = parse((CASES / case / "install.yaml").read_text())
        kinds |= {n.networktype for n in config.networks}
        kinds |= {"dmz" for n in config.networks if n.dmz} | {"storage" for n in config.networks if n.storage}
        kinds |= {f"ipv{v}-{config.role}" for n in config.networks for v in (4, 6) if n.ips_of(v)}
    assert kinds >= {
        "underlay",
        "privateprimaryunshared",
        "privateprimaryshared",
        "privatesecondaryshared",
        "external",
        "dmz",
        "storage",
        "ipv6-firewall",
        "ipv6-machine",
        "ipv4-machine",
    }


# ------------------------------------------------------------------------------------
# what each case is about, read back from the rendered frr.conf


def prefix_list(conf: str, name: str) -> list[str]:
    """The entries of one prefix list as `permit|deny <prefix>`."""
    pattern = re.compile(rf"^ipv?6? ?prefix-list {re.escape(name)} (?:seq \d+ )?(permit|deny) (\S+)", re.M)
    return [f"{m.group(1)} {m.group(2)}" for m in pattern.finditer(conf)]


def imports(conf: str, vrf: str) -> set[str]:
    block = conf[conf.index(f"router bgp 4210000042 vrf {vrf}\n") :]
    block = block[: block.index("\nexit\n")]
    return set(re.findall(r"^  import vrf (vrf\d+)$", block, re.M))


def route_map(conf: str, vrf: str) -> str:
    return "\n".join(
        line
        for line in conf.splitlines()
        if line.startswith(f"route-map {vrf}-import-map") or line.startswith(" ")
    )


def conf_of(case: str) -> str:
    return rendered(case)["frr.conf"]


def test_routing_facts_standard_firewall() -> None:
    conf = conf_of("firewall")
    # the tenant reaches both external networks; the firewall's own public IP is denied
    assert imports(conf, "vrf7001") == {"vrf7900", "vrf7901"}
    assert prefix_list(conf, "vrf7001-import-from-vrf7900") == [
        "permit 0.0.0.0/0",
        "deny 203.0.113.9/32",
        "permit 203.0.113.0/24",
        "permit 198.51.100.0/25",
    ]
    assert prefix_list(conf, "vrf7001-import-from-vrf7901") == [
        "permit 100.64.10.0/24",
        "permit 100.64.200.0/24",
    ]
    # the internet VRF gets the tenant's public addresses and its private prefix, never exported
    assert prefix_list(conf, "vrf7900-import-from-vrf7001") == [
        "permit 203.0.113.0/24",
        "permit 198.51.100.0/25",
    ]
    assert prefix_list(conf, "vrf7900-import-from-vrf7001-no-export") == ["permit 10.120.0.0/22"]
    assert (
        "route-map vrf7900-import-map permit 10\n match source-vrf vrf7001\n"
        " match ip address prefix-list vrf7900-import-from-vrf7001-no-export\n"
        " set community additive no-export\n"
    ) in conf
    # VLAN and table count the underlay's position: the MPLS network after it gets 1003
    files = rendered("firewall")
    assert "[VLAN]\nId=1003\n" in files["networkd/32-svi-7901.netdev"]
    assert "[VRF]\nTable=1003\n" in files["networkd/32-vrf-7901.netdev"]
    assert "MTUBytes=9216\n" in files["networkd/10-lan0.link"]
    assert "VXLAN=vni7001\nVXLAN=vni7900\nVXLAN=vni7901\n" in files["networkd/11-lan1.network"]
    assert " no bgp enforce-first-as\n" in rendered("firewall")["frr.conf.frr-10"]
    assert " no bgp enforce-first-as\n" not in conf


def test_routing_facts_storage() -> None:
    conf = conf_of("firewall-storage")
    # storage reachable from the tenant, the prefix as written (host bits set)
    assert imports(conf, "vrf7001") == {"vrf7900", "vrf7003"}
    assert prefix_list(conf, "vrf7001-import-from-vrf7003") == ["permit 10.122.6.0/22"]
    # storage sees the tenant only: no internet, no default route, no NAT towards it
    assert imports(conf, "vrf7003") == {"vrf7001"}
    assert prefix_list(conf, "vrf7003-import-from-vrf7001") == [
        "permit 10.120.0.0/22",
        "permit 10.122.6.0/22",
    ]
    assert "0.0.0.0/0" not in route_map(conf, "vrf7003") + "".join(
        prefix_list(conf, "vrf7003-import-from-vrf7001")
    )
    assert imports(conf, "vrf7900") == {"vrf7001"}


def test_routing_facts_dmz() -> None:
    conf = conf_of("firewall-dmz")
    assert imports(conf, "vrf7001") == {"vrf7900", "vrf7002"}
    # the DMZ shares the internet's default route and gets it from the internet VRF
    assert imports(conf, "vrf7002") == {"vrf7001", "vrf7900"}
    assert "permit 0.0.0.0/0" in prefix_list(conf, "vrf7002-import-from-vrf7900")
    # the internet VRF takes tenant and DMZ private prefixes, both no-export
    assert imports(conf, "vrf7900") == {"vrf7001", "vrf7002"}
    assert prefix_list(conf, "vrf7900-import-from-vrf7002-no-export") == ["permit 10.121.0.0/22"]


def test_routing_facts_dmz_app_without_internet() -> None:
    conf = conf_of("firewall-dmz-app")
    # the default route comes from the DMZ; the DMZ firewall's own IP is denied
    assert imports(conf, "vrf7001") == {"vrf7002"}
    assert prefix_list(conf, "vrf7001-import-from-vrf7002") == [
        "deny 10.121.0.1/32",
        "permit 10.121.0.0/22",
        "permit 0.0.0.0/0",
    ]
    conf = conf_of("firewall-dmz-app-storage")
    assert imports(conf, "vrf7001") == {"vrf7002", "vrf7003"}
    assert imports(conf, "vrf7003") == {"vrf7001"}


def test_routing_facts_shared_primary() -> None:
    conf = conf_of("firewall-shared-primary")
    assert imports(conf, "vrf7003") == {"vrf7900"}
    assert prefix_list(conf, "vrf7900-import-from-vrf7003-no-export") == ["permit 10.122.6.0/22"]


def test_routing_facts_ipv6() -> None:
    conf = conf_of("firewall-ipv6")
    assert prefix_list(conf, "vrf7001-import-from-vrf7900-ipv6") == [
        "permit ::/0",
        "deny 2001:db8:f00::9/128",
        "permit 2001:db8:f00::/48",
    ]
    assert " match ipv6 address prefix-list vrf7001-import-from-vrf7900-ipv6\n" in conf
    assert "  advertise ipv6 unicast\n" in conf
    assert "Address=2001:db8:120::1/128\n" in rendered("firewall-ipv6")["networkd/30-svi-7001.network"]
    dual = conf_of("firewall-dualstack")
    assert prefix_list(dual, "vrf7900-import-from-vrf7001-no-export") == ["permit 10.120.0.0/22"]
    assert prefix_list(dual, "vrf7900-import-from-vrf7001-ipv6-no-export") == ["permit 2001:db8:120::/64"]


def test_routing_facts_machine() -> None:
    files = rendered("machine")
    assert "Address=203.0.113.17/32\n" in files["networkd/00-lo.network"]
    assert "MTUBytes=9000\n" in files["networkd/10-lan0.link"]
    assert "allow-reserved-ranges\n" in files["frr.conf"]
    assert "allow-reserved-ranges" not in files["frr.conf.frr-8.1"]  # FRR 8.1 does not know it
    assert " bgp listen range 0.0.0.0/0 peer-group LOCAL\n" in files["frr.conf"]
    assert "Address=2001:db8:120::18/128\n" in rendered("machine-dualstack")["networkd/00-lo.network"]
