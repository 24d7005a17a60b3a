"""Export channels: where in the store layout an image goes (contract 5.1, 14).

`stable` (main branch), `pull_requests/<pr>-<branch>` (a pull request) or `<YYYYMMDD>`
(a release). The directory of an exported image is `<output>/<channel>/<os>/<version>/`.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from metal_images.errors import ConfigError
from metal_images.names import check_printable

STABLE = "stable"
_PULL_REQUEST = re.compile(r"^pull_requests/[1-9][0-9]*-[A-Za-z0-9][A-Za-z0-9._-]*$")
_RELEASE = re.compile(r"^[0-9]{8}$")
USAGE = "use stable, pull_requests/<pr>-<branch> or <YYYYMMDD>"


def validate_channel(channel: str) -> str:
    """Return `channel` if it is one of the three layouts, else raise one clear error."""
    if channel == STABLE or _PULL_REQUEST.fullmatch(check_printable(channel, "channel")):
        return channel
    if _RELEASE.fullmatch(channel):
        try:
            datetime.strptime(channel, "%Y%m%d")
        except ValueError:
            raise ConfigError(f"invalid channel {channel!r}: {channel} is not a date (YYYYMMDD)") from None
        return channel
    raise ConfigError(f"invalid channel {channel!r}: {USAGE}")


def image_dir(output: Path, channel: str, os_name: str, version: str) -> Path:
    """`<output>/<channel>/<os>/<version>`, the directory metal-hammer's URL points into."""
    return output / validate_channel(channel) / os_name / version
