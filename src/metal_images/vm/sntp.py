"""A minimal SNTP server (RFC 4330) for the test switch: answers with the host's clock.

Run inside the switch namespace: `python -m metal_images.vm.sntp <address>`. Enough for
systemd-timesyncd to synchronise; not a general NTP server.
"""

from __future__ import annotations

import socket
import struct
import sys
import time

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01
STRATUM = 2


def ntp_timestamp(unix: float) -> int:
    seconds = int(unix) + NTP_EPOCH_OFFSET
    fraction = int((unix % 1) * 2**32)
    return (seconds << 32) | fraction


def reply(request: bytes, received: float, refid: bytes) -> bytes | None:
    if len(request) < 48:
        return None
    version = (request[0] >> 3) & 0x7
    if request[0] & 0x7 != 3:  # only client requests
        return None
    originate = request[40:48]
    now = time.time()
    header = struct.pack(
        "!BBbbII4sQ",
        (0 << 6) | (version << 3) | 4,  # leap none, client's version, mode server
        STRATUM, 4, -20,                 # stratum, poll, precision
        0x00000010, 0x00000010,          # root delay / dispersion (tiny, 16.16 fixed point)
        refid, ntp_timestamp(now - 1),   # reference id and time
    )
    return header + originate + struct.pack("!QQ", ntp_timestamp(received), ntp_timestamp(now))


def serve(address: str, port: int = 123) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, port))
    refid = socket.inet_aton(address)
    while True:
        data, peer = sock.recvfrom(1024)
        answer = reply(data, time.time(), refid)
        if answer is not None:
            sock.sendto(answer, peer)


if __name__ == "__main__":
    serve(sys.argv[1])
