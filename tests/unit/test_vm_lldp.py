"""LLDP frame parsing (vm/lldp.py) on frames built here, TLV by TLV."""

from __future__ import annotations

import pytest

from metal_images.vm import lldp

SOURCE = bytes.fromhex("020000000001")


def tlv(kind: int, value: bytes) -> bytes:
    return ((kind << 9) | len(value)).to_bytes(2, "big") + value


def frame(*items: bytes, end: bool = True, ethertype: int = lldp.ETH_P_LLDP) -> bytes:
    header = lldp.LLDP_MULTICAST + SOURCE + ethertype.to_bytes(2, "big")
    return header + b"".join(items) + (tlv(0, b"") if end else b"")


MANDATORY = (tlv(1, b"\x04" + SOURCE), tlv(2, b"\x05lan0"), tlv(3, (120).to_bytes(2, "big")))


def test_system_name_and_description() -> None:
    data = frame(*MANDATORY, tlv(4, b"lan0"), tlv(5, b"e0ab02d2-27cd-5a5e-8efc-080ba80cf258"),
                 tlv(6, b"provisioned since 2026-11-25T09:41:43Z"), tlv(127, b"\x00\x12\x0f\x01\x03"))
    parsed = lldp.parse_frame(data + b"\x00" * 8, "tap0")  # padding after End is ignored
    assert parsed.port == "tap0"
    assert parsed.source_mac == "02:00:00:00:00:01"
    assert parsed.system_name == "e0ab02d2-27cd-5a5e-8efc-080ba80cf258"
    assert parsed.system_description == "provisioned since 2026-11-25T09:41:43Z"
    assert parsed.ttl == 120


def test_long_tlv_uses_the_ninth_length_bit() -> None:
    description = b"x" * 300  # > 255: the length spills into the type byte
    parsed = lldp.parse_frame(frame(*MANDATORY, tlv(6, description)), "tap1")
    assert parsed.system_description == "x" * 300
    assert parsed.system_name == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (frame(*MANDATORY, ethertype=0x0800), "not an LLDP"),
        (frame(*MANDATORY, end=False), "no End"),
        (frame(MANDATORY[1], MANDATORY[0], MANDATORY[2]), "Chassis ID, Port ID and TTL"),
        (frame(*MANDATORY, end=False) + tlv(5, b"abc")[:3], "runs past the frame"),
    ],
)
def test_malformed_frames(data: bytes, message: str) -> None:
    with pytest.raises(lldp.FrameError, match=message):
        lldp.parse_frame(data, "tap0")
