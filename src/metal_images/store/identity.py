"""How a released store folder becomes a metal-api image id.

metal-api and cache-sync split an id on its **last** dash: the os part may contain dashes,
the rest must parse as semver `<major>.<minor>.<patch>` with the release date as patch.
The store version is `major[.minor][-suffix]`; the mapping we use:

    debian/12            -> debian-12.0.20261125        (missing minor becomes .0)
    ubuntu/24.04         -> ubuntu-24.04.20261125       (leading zero kept, as upstream)
    firewall/3.0-ubuntu  -> firewall-ubuntu-3.0.20261125 (a suffix moves into the os part,
                                                          like upstream's firewall-ubuntu-2.0.x)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from metal_images.errors import ConfigError
from metal_images.names import check_printable
from metal_images.store.layout import check_os, parse_date

_VERSION = re.compile(r"^(?P<major>[0-9]+)(\.(?P<minor>[0-9]+))?(-(?P<suffix>[a-z0-9]+))?$")


@dataclass(frozen=True)
class ApiIdentity:
    os: str  # the os part of the id, e.g. firewall-ubuntu
    semver: str  # major.minor.patch, e.g. 3.0.20261125

    @property
    def id(self) -> str:
        return f"{self.os}-{self.semver}"


def api_identity(os_name: str, version: str, date: str) -> ApiIdentity:
    check_os(os_name)
    parse_date(date)
    match = _VERSION.fullmatch(check_printable(version, "version"))
    if not match:
        raise ConfigError(f"version '{version}' of {os_name}: expected major[.minor][-suffix]")
    minor = match["minor"] or "0"
    api_os = f"{os_name}-{match['suffix']}" if match["suffix"] else os_name
    return ApiIdentity(api_os, f"{match['major']}.{minor}.{date}")


def display_name(identity: ApiIdentity, version: str, date: str) -> str:
    """`Ubuntu 24.04 20261125` (upstream's naming), `Firewall Ubuntu 3.0 20261125`."""
    words = " ".join(w.capitalize() for w in identity.os.split("-"))
    return f"{words} {version.split('-', 1)[0]} {date}"
