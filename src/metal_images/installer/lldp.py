"""Phone home: the LLDP daemon announces the machine to the switches.

metal-core counts only LLDP frames whose System Description contains `provisioned` and
takes the System Name as the machine id. Upstream's go-lldpd reads both values from
install.yaml itself (System Name = machineuuid, System Description = `provisioned since
<timestamp>`); Debian's and Ubuntu's `lldpd` needs them in its configuration, which
lldpcli reads from /etc/lldpd.d/*.conf when the daemon starts.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional, Tuple

import yaml

from . import safeyaml
from .context import INSTALL_YAML, Context
from .errors import InstallError

LLDPD_CONF = "/etc/lldpd.d/metal-phone-home.conf"
LLDPD = ("/usr/sbin/lldpd", "/usr/sbin/lldpcli")  # Debian's/Ubuntu's lldpd
GO_LLDPD = "/usr/local/bin/lldpd"  # upstream's go-lldpd reads install.yaml on its own
# go-lldpd sends every 2 s; lldpd's default of 30 s would delay the first phone home
TX_INTERVAL = 10
# what may stand inside lldpcli's double quotes: printable, no quote, no backslash
SAFE_VALUE = re.compile(r'^[\x20-\x7e]+$')
UNSAFE_CHARS = ('"', "\\")


def phone_home_values(text: str) -> Tuple[str, str]:
    """(machineuuid, timestamp) from install.yaml's text, as go-lldpd reads them.

    The base loader keeps every scalar as written (go-lldpd's fields are strings), so an
    unquoted timestamp is not turned into a datetime and printed differently.
    """
    safeyaml.check_shape(text, "install.yaml")
    try:
        data = yaml.load(text, Loader=yaml.BaseLoader)  # BaseLoader: plain strings only
    except yaml.YAMLError as exc:
        raise InstallError(f"install.yaml is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InstallError("install.yaml: expected a mapping of keys at the top level")
    return _value(data, "machineuuid"), _value(data, "timestamp")


def _value(data: Dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise InstallError(f"install.yaml: {key}: expected a string, got {type(value).__name__}")
    if not value:
        raise InstallError(f"install.yaml: {key}: missing (the LLDP daemon announces it to the switches)")
    if not SAFE_VALUE.match(value) or any(c in value for c in UNSAFE_CHARS):
        raise InstallError(
            f"install.yaml: {key}: {value!r} must be printable ASCII without quotes or backslashes")
    return value


def system_description(timestamp: str) -> str:
    return f"provisioned since {timestamp}"


def lldpd_config(machine_uuid: str, timestamp: str) -> str:
    return (
        "# written by the metal-images installer from /etc/metal/install.yaml:\n"
        "# metal-core takes the System Name as the machine id and counts only frames whose\n"
        "# System Description contains `provisioned`\n"
        f'configure system hostname "{machine_uuid}"\n'
        f'configure system description "{system_description(timestamp)}"\n'
        f"configure lldp tx-interval {TX_INTERVAL}\n"
    )


def daemon(ctx: Context) -> Optional[str]:
    """Which LLDP daemon the image has: `lldpd`, `go-lldpd` or None."""
    if all(ctx.target.exists(path) for path in LLDPD):
        return "lldpd"
    if ctx.target.exists(GO_LLDPD):
        return "go-lldpd"
    return None


def configure(ctx: Context) -> None:
    text = safeyaml.decode(ctx.target.path(INSTALL_YAML).read_bytes(), "install.yaml")
    machine_uuid, timestamp = phone_home_values(text)
    found = daemon(ctx)
    if found == "lldpd":
        ctx.target.write(LLDPD_CONF, lldpd_config(machine_uuid, timestamp), mode=0o644)
        ctx.log(f"lldpd: System Name {machine_uuid}, System Description {system_description(timestamp)!r}")
    elif found == "go-lldpd":
        ctx.log("go-lldpd reads machineuuid and timestamp from install.yaml itself")
    else:
        ctx.log("warning: no LLDP daemon in the image: the machine will never phone home to metal-core")
