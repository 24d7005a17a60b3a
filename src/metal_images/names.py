"""Names that end up in store keys, ids and file paths: printable text only.

Python's `$` also matches before a trailing newline, so `^[a-z]+$` lets `debian\n`
through; every name pattern is matched with `fullmatch`, and `check_printable` refuses
control characters first with a message that shows them escaped (the error stays one line).
"""

from __future__ import annotations

import unicodedata

from metal_images.errors import ConfigError


def shown(text: str) -> str:
    """`text` quoted for a one-line message: control characters appear escaped (`\\n`)."""
    return repr(text) if any(_is_control(c) for c in text) else f"'{text}'"


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def check_printable(text: str, what: str) -> str:
    """`text` unchanged, or one ConfigError naming `what` when it holds a control character."""
    for char in text:
        if _is_control(char):
            raise ConfigError(f"{what} {shown(text)}: refused, it contains the control character {char!r}")
    return text
