"""Checksum sidecars in md5sum format: `<hex>  img.tar.lz4` (two spaces, bare file name).

Written once (`sidecar_text`) and read three ways, all here:
- `hammer_reading`: metal-hammer's own rule (contract 7.2), the text before the first
  space; `check` judges a sidecar by it (`sidecar_problem`), so a sidecar without a space
  after the checksum fails there as it would fail the hammer;
- `first_token`: the first word, lower-cased; what our hammer emulation and the cache's
  index compare;
- `read_digest`: the first word checked to be a digest of the algorithm (and, when given,
  the file it names); what publish and cache-sync trust before they act on it.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from metal_images.errors import ConfigError

HEX_LENGTH = {"md5": 32, "sha256": 64, "sha512": 128}


def sidecar_text(hexdigest: str, file_name: str) -> str:
    return f"{hexdigest}  {file_name}\n"


def hammer_reading(text: str) -> str:
    """What metal-hammer compares against: everything before the first space."""
    return text.split(" ", 1)[0]


def first_token(text: str) -> str:
    """The first whitespace-separated word, lower-cased ("" for an empty sidecar)."""
    words = text.split(maxsplit=1)
    return words[0].lower() if words else ""


def _is_digest(token: str, algorithm: str) -> bool:
    return re.fullmatch(rf"[0-9a-f]{{{HEX_LENGTH[algorithm]}}}", token) is not None


def read_digest(text: str, algorithm: str, *, what: str, file_name: str | None = None) -> str:
    """The digest of a sidecar (`<hex>  <name>`, `<hex> *<name>` or a bare `<hex>`).

    With `file_name` the sidecar must name that file (a bare name, as export writes it).
    """
    words = text.strip().splitlines()[0].split() if text.strip() else []
    token = words[0].lower() if words else ""
    if not _is_digest(token, algorithm) or (file_name is not None and len(words) != 2):
        article = "an" if algorithm == "md5" else "a"
        raise ConfigError(f"{what}: not in checksum format '<hex>  {file_name or '<file>'}' "
                          f"(not {article} {algorithm} sum: {text.strip()[:80]!r})")
    if file_name is not None:
        named = words[1].removeprefix("*")
        if PurePosixPath(named).name != file_name:
            raise ConfigError(f"{what}: names '{named}', expected {file_name}")
    return token


def sidecar_problem(text: str, algorithm: str, actual: str) -> str | None:
    """Why `text` does not vouch for `actual` (None if it does), read as metal-hammer reads it."""
    token = hammer_reading(text)
    if " " not in text:
        return f"no space after the checksum: metal-hammer would compare {text[:80]!r}"
    if not _is_digest(token, algorithm):
        return f"first token {token[:140]!r} is not a lowercase {algorithm} hex digest"
    if token != actual:
        return f"sidecar says {token}, the archive's {algorithm} is {actual}"
    return None
