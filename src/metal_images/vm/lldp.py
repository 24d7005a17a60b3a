"""LLDP frames as the switch sees them: capture on the switch ports, parse the TLVs.

metal-core's phone home reads two TLVs of the frames a machine sends: System Name (the
machine id) and System Description (must contain `provisioned`). `capture` listens on
raw packet sockets (run it inside the switch's namespace) until every port has seen one
frame or the time is up. `python -m metal_images.vm.lldp tap0 tap1 --timeout 40` prints
the frames as JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import sys
import time
from dataclasses import asdict, dataclass

ETH_P_LLDP = 0x88CC
LLDP_MULTICAST = bytes.fromhex("0180c200000e")
ETHERNET_HEADER = 14
TLV_END, TLV_CHASSIS_ID, TLV_PORT_ID, TLV_TTL = 0, 1, 2, 3
TLV_SYSTEM_NAME, TLV_SYSTEM_DESCRIPTION = 5, 6


class FrameError(ValueError):
    """Bytes that are no well-formed LLDPDU."""


@dataclass(frozen=True)
class LldpFrame:
    port: str  # the switch port it arrived on
    source_mac: str
    system_name: str
    system_description: str
    ttl: int


def tlvs(payload: bytes) -> list[tuple[int, bytes]]:
    """The (type, value) TLVs of an LLDPDU up to its End TLV (IEEE 802.1AB 8.4)."""
    result: list[tuple[int, bytes]] = []
    offset = 0
    while offset + 2 <= len(payload):
        header = int.from_bytes(payload[offset:offset + 2], "big")
        kind, length = header >> 9, header & 0x1FF
        value = payload[offset + 2:offset + 2 + length]
        if len(value) != length:
            raise FrameError(f"TLV type {kind} at byte {offset} runs past the frame ({length} bytes)")
        if kind == TLV_END:
            return result
        result.append((kind, value))
        offset += 2 + length
    raise FrameError("no End of LLDPDU TLV")


def parse_frame(frame: bytes, port: str) -> LldpFrame:
    """An Ethernet frame carrying LLDP; the mandatory TLVs must lead, in order."""
    if len(frame) < ETHERNET_HEADER or int.from_bytes(frame[12:14], "big") != ETH_P_LLDP:
        raise FrameError("not an LLDP Ethernet frame")
    items = tlvs(frame[ETHERNET_HEADER:])
    if [kind for kind, _ in items[:3]] != [TLV_CHASSIS_ID, TLV_PORT_ID, TLV_TTL]:
        raise FrameError("the frame does not start with Chassis ID, Port ID and TTL")
    values = dict(items)
    return LldpFrame(
        port=port,
        source_mac=frame[6:12].hex(":"),
        system_name=values.get(TLV_SYSTEM_NAME, b"").decode("utf-8", errors="replace"),
        system_description=values.get(TLV_SYSTEM_DESCRIPTION, b"").decode("utf-8", errors="replace"),
        ttl=int.from_bytes(values[TLV_TTL], "big"),
    )


def capture(ports: list[str], timeout: float) -> list[LldpFrame]:
    """The first LLDP frame from each port (fewer if the time runs out)."""
    sockets: dict[socket.socket, str] = {}
    try:
        for port in ports:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_LLDP))
            sockets[sock] = port
            sock.bind((port, ETH_P_LLDP))
        found: dict[str, LldpFrame] = {}
        deadline = time.monotonic() + timeout
        while len(found) < len(ports):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            readable, _, _ = select.select(list(sockets), [], [], left)
            for sock in readable:
                data = sock.recv(65535)
                port = sockets[sock]
                if port in found or data[:6] != LLDP_MULTICAST:
                    continue
                try:
                    found[port] = parse_frame(data, port)
                except FrameError as exc:
                    print(f"lldp: {port}: ignoring a malformed frame: {exc}", file=sys.stderr)
        return [found[p] for p in ports if p in found]
    finally:
        for sock in sockets:
            sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metal_images.vm.lldp",
                                     description="Print the first LLDP frame seen on each port as JSON.")
    parser.add_argument("ports", nargs="+", help="interfaces to listen on (the switch ports)")
    parser.add_argument("--timeout", type=float, default=40.0, help="seconds to wait in total")
    args = parser.parse_args(argv)
    frames = capture(args.ports, args.timeout)
    print(json.dumps([asdict(f) for f in frames]))
    return 0 if len(frames) == len(args.ports) else 1


if __name__ == "__main__":
    sys.exit(main())
