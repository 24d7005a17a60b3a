"""The switch's LLDP capture on real interfaces: a veth pair in a namespace this test
creates, one end sending an LLDP frame the way a machine does, the other capturing.

Needs root (namespaces); about two seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from metal_images.vm import lldp
from metal_images.vm.netns import network_namespace, ns_run

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

SENDER = """
import socket, sys, time
frame = bytes.fromhex(sys.argv[2])
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((sys.argv[1], 0))
for _ in range(20):  # until the capture has surely started
    sock.send(frame)
    time.sleep(0.1)
"""


def _tlv(kind: int, value: bytes) -> bytes:
    return ((kind << 9) | len(value)).to_bytes(2, "big") + value


def _frame(mac: bytes, name: str, description: str) -> bytes:
    return (lldp.LLDP_MULTICAST + mac + lldp.ETH_P_LLDP.to_bytes(2, "big")
            + _tlv(1, b"\x04" + mac) + _tlv(2, b"\x05lan0") + _tlv(3, (30).to_bytes(2, "big"))
            + _tlv(5, name.encode()) + _tlv(6, description.encode()) + _tlv(0, b""))


def test_capture_sees_system_name_and_description_per_port() -> None:
    name = f"mi-lldp-{uuid.uuid4().hex[:6]}"
    with network_namespace(name) as ns:
        for machine, port in (("m0", "p0"), ("m1", "p1")):
            ns_run(ns, ["ip", "link", "add", machine, "type", "veth", "peer", "name", port])
            for link in (machine, port):
                ns_run(ns, ["ip", "link", "set", link, "up"])
        capture = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-m", "metal_images.vm.lldp", "p0", "p1",
             "--timeout", "10"], stdout=subprocess.PIPE, text=True)
        try:
            for index, machine in enumerate(("m0", "m1")):
                frame = _frame(bytes([2, 0, 0, 0, 0, index + 1]), "machine-uuid", "provisioned since now")
                send = ["ip", "netns", "exec", ns, sys.executable, "-c", SENDER, machine, frame.hex()]
                subprocess.run(send, check=True, timeout=30)
            out, _ = capture.communicate(timeout=30)
        finally:
            if capture.poll() is None:
                capture.kill()
                capture.wait()
    frames = json.loads(out)
    assert capture.returncode == 0
    assert [f["port"] for f in frames] == ["p0", "p1"]
    assert [f["source_mac"] for f in frames] == ["02:00:00:00:00:01", "02:00:00:00:00:02"]
    assert {(f["system_name"], f["system_description"]) for f in frames} == {
        ("machine-uuid", "provisioned since now")}


def test_capture_reports_a_silent_port() -> None:
    name = f"mi-lldp-{uuid.uuid4().hex[:6]}"
    with network_namespace(name) as ns:
        ns_run(ns, ["ip", "link", "add", "m0", "type", "veth", "peer", "name", "p0"])
        ns_run(ns, ["ip", "link", "set", "p0", "up"])
        result = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "metal_images.vm.lldp",
                                 "p0", "--timeout", "1"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert json.loads(result.stdout) == []
