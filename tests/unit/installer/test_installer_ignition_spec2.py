"""Ignition spec 2.x userdata is translated to spec 3 or refused with the offending key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from metal_images.installer.errors import InstallError
from metal_images.installer.ignition_spec2 import translate
from metal_images.installer.userdata import spec3

# the shape of upstream's test userdata (Ignition 2.2.0, flatcar ignition v0.36)
SPEC2: dict[str, Any] = {
    "ignition": {"version": "2.2.0", "timeouts": {"httpTotal": 30}},
    "storage": {
        "files": [
            {
                "filesystem": "root",
                "path": "/etc/firewall-controller/.kubeconfig",
                "mode": 384,
                "contents": {"source": "data:,apiVersion%3A%20v1"},
            }
        ],
        "directories": [{"filesystem": "root", "path": "/var/lib/x", "mode": 493}],
        "links": [{"filesystem": "root", "path": "/usr/local/bin/y", "target": "/bin/true"}],
    },
    "systemd": {
        "units": [
            {"name": "firewall-controller.service", "enable": True, "contents": "[Service]\n"},
            {"name": "droptailer.service", "enabled": True, "dropins": [{"name": "a.conf", "contents": "x"}]},
            {"name": "bad.service", "mask": True},
        ]
    },
    "networkd": {"units": [{"name": "50-x.network", "contents": "[Match]\nName=x\n"}]},
    "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": ["ssh-ed25519 AAAA"]}]},
}


def test_translates_files_units_links_and_users() -> None:
    out = translate(SPEC2)
    assert out["ignition"] == {"version": "3.3.0", "timeouts": {"httpTotal": 30}}
    first = out["storage"]["files"][0]
    assert first == {
        "path": "/etc/firewall-controller/.kubeconfig",
        "contents": {"source": "data:,apiVersion%3A%20v1"},
        "mode": 384,
        "overwrite": True,
    }
    networkd = out["storage"]["files"][1]
    assert networkd["path"] == "/etc/systemd/network/50-x.network"
    assert networkd["contents"]["source"] == "data:,%5BMatch%5D%0AName%3Dx%0A"
    assert out["storage"]["directories"] == [{"path": "/var/lib/x", "overwrite": False, "mode": 493}]
    assert out["storage"]["links"] == [
        {"path": "/usr/local/bin/y", "target": "/bin/true", "hard": False, "overwrite": False}
    ]
    units = out["systemd"]["units"]
    assert units[0] == {"name": "firewall-controller.service", "contents": "[Service]\n", "enabled": True}
    assert units[1]["dropins"] == [{"name": "a.conf", "contents": "x"}]
    assert units[2] == {"name": "bad.service", "mask": True}
    assert out["passwd"] == {"users": [{"name": "core", "sshAuthorizedKeys": ["ssh-ed25519 AAAA"]}]}


def test_spec3_passes_through_and_spec2_is_translated() -> None:
    three = {"ignition": {"version": "3.1.0"}}
    assert spec3(json.dumps(three)) == three
    assert spec3(json.dumps(SPEC2))["ignition"]["version"] == "3.3.0"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"storage": {"disks": [{"device": "/dev/sda"}]}}, "storage.disks: cannot be translated"),
        ({"storage": {"files": [{"path": "/a", "filesystem": "oem"}]}}, "storage.files[0].filesystem"),
        ({"storage": {"files": [{"path": "/a", "append": True}]}}, "storage.files[0].append"),
        ({"storage": {"raid": [{"name": "md0"}]}}, "storage.raid"),
        (
            {"ignition": {"version": "2.1.0", "config": {"append": [{"source": "http://x"}]}}},
            "ignition.config",
        ),
        ({"passwd": {"users": [{"name": "a", "create": {"uid": 5}}]}}, "passwd.users[0].create"),
    ],
)
def test_refuses_what_cannot_be_translated(config: dict[str, Any], message: str) -> None:
    config.setdefault("ignition", {"version": "2.2.0"})
    with pytest.raises(InstallError, match=r"Ignition spec 2\.x userdata: .*") as error:
        translate(config)
    assert message in str(error.value)
