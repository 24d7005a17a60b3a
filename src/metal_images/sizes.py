"""Human sizes (`10G`, `512Mi`, `100GB`) to bytes and back."""

from __future__ import annotations

import re

from metal_images.errors import ConfigError

# binary multiples like docker/go-units RAMInBytes: 10G is 10 GiB
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:([kKmMgGtTpP])(?:i?[bB]?)|[bB])?\s*$")


def parse_size(text: str | int, *, what: str = "size") -> int:
    """Bytes of `text`: a number with an optional K/M/G/T/P suffix (powers of 1024)."""
    if isinstance(text, int):
        return text
    match = _PATTERN.match(str(text))
    if not match:
        raise ConfigError(f"{what}: cannot read {text!r} as a size (examples: 10G, 512M, 1048576)")
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "").upper()])


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # unreachable
