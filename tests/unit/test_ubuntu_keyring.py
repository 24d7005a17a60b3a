"""The Ubuntu archive key kept in the repository is the one Ubuntu signs jammy with.

Two independent readings: the OpenPGP packets parsed here (RFC 4880 v4 fingerprint =
SHA-1 over the public-key packet), and gpg's own view of the file.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

KEYRING = Path(__file__).resolve().parents[2] / "images/ubuntu/ubuntu-archive-keyring.gpg"
FINGERPRINT = "F6ECB3762474EDA9D21B7022871920D1991BC93C"
USER_ID = "Ubuntu Archive Automatic Signing Key (2018) <ftpmaster@ubuntu.com>"
PUBLIC_KEY, USER_ID_PACKET = 6, 13


def packets(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, body) of every packet in a binary OpenPGP keyring."""
    found: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        head = data[pos]
        assert head & 0x80, f"not an OpenPGP packet at offset {pos}"
        if head & 0x40:  # new format
            tag = head & 0x3F
            first = data[pos + 1]
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 2] + 192, pos + 3
            else:
                assert first == 255, "partial body lengths do not occur in keys"
                length, pos = int.from_bytes(data[pos + 2:pos + 6], "big"), pos + 6
        else:  # old format
            tag = (head >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4}[head & 0x03]
            length = int.from_bytes(data[pos + 1:pos + 1 + size], "big")
            pos += 1 + size
        found.append((tag, data[pos:pos + length]))
        pos += length
    return found


def test_keyring_holds_exactly_the_2018_archive_key() -> None:
    parsed = packets(KEYRING.read_bytes())
    keys = [body for tag, body in parsed if tag == PUBLIC_KEY]
    assert len(keys) == 1, "one primary key, nothing else to trust"
    body = keys[0]
    assert body[0] == 4, "a version 4 key"
    fingerprint = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    assert fingerprint == FINGERPRINT
    user_ids = [body.decode() for tag, body in parsed if tag == USER_ID_PACKET]
    assert user_ids == [USER_ID]


def test_gpg_agrees(tmp_path: Path) -> None:
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed (apt-get install gnupg) - the packet parse above still ran")
    result = subprocess.run(
        ["gpg", "--homedir", str(tmp_path), "--batch", "--with-colons", "--show-keys", str(KEYRING)],
        capture_output=True, text=True, check=True,
    )
    fingerprints = [line.split(":")[9] for line in result.stdout.splitlines() if line.startswith("fpr:")]
    assert fingerprints[0] == FINGERPRINT
    assert any(line.startswith("uid:") and USER_ID in line for line in result.stdout.splitlines())
