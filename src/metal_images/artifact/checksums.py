"""Checksum sidecars in md5sum format: `<hex>  img.tar.lz4` (two spaces, bare file name).

metal-hammer takes the text before the first space as the expected md5 (contract 7.2), so
a sidecar without a space after the checksum never matches there.
"""

from __future__ import annotations

import re

_HEX = {"md5": 32, "sha256": 64, "sha512": 128}


def sidecar_text(hexdigest: str, file_name: str) -> str:
    return f"{hexdigest}  {file_name}\n"


def expected_digest(text: str) -> str:
    """What metal-hammer compares against: everything before the first space."""
    return text.split(" ", 1)[0]


def sidecar_problem(text: str, algorithm: str, actual: str) -> str | None:
    """Why `text` does not vouch for `actual` (None if it does)."""
    token = expected_digest(text)
    length = _HEX[algorithm]
    if " " not in text:
        return f"no space after the checksum: metal-hammer would compare {text[:80]!r}"
    if not re.fullmatch(rf"[0-9a-f]{{{length}}}", token):
        return f"first token {token[:140]!r} is not a lowercase {algorithm} hex digest"
    if token != actual:
        return f"sidecar says {token}, the archive's {algorithm} is {actual}"
    return None
