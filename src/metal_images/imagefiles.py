"""Readers for the few image files everyone looks into (os-release, passwd, group).

Shared by `check` (files read from an archive), `export` (files read from a tree) and the
hammer emulation (the installed tree).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

KNOWN_OS_IDS = ("debian", "ubuntu", "centos", "almalinux")  # install-go's detectOS
DEBIAN_FAMILY = ("debian", "ubuntu")
RHEL_FAMILY = ("centos", "almalinux")


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines, values shell-quoted or bare; comments and junk lines ignored."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        result[key.strip()] = parts[0] if parts else ""
    return result


def os_id(os_release: dict[str, str]) -> str:
    """`ID` as install-go reads it: unquoted, lowercased."""
    return os_release.get("ID", "").strip().lower()


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    home: str
    shell: str


def parse_passwd(text: str) -> list[User]:
    users: list[User] = []
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) < 7 or line.startswith("#"):
            continue
        try:
            users.append(User(fields[0], int(fields[2]), int(fields[3]), fields[5], fields[6]))
        except ValueError:
            continue
    return users


def parse_group_names(text: str) -> set[str]:
    return {line.split(":", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}
