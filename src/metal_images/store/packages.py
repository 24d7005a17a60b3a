"""packages.txt of a published image (`dpkg -l` or `rpm -qa`) and the diff of two of them."""

from __future__ import annotations

import re
from dataclasses import dataclass

# dpkg -l: "ii  bash:amd64  5.2.15-2+b2  amd64  GNU Bourne Again SHell"
# (desired u/i/h/r/p, status n/c/U/F/W/t/i, optional error flag; installed = status i)
_DPKG = re.compile(r"^[uihrp](?P<status>[ncUFWti])[ R]?\s+(?P<name>\S+)\s+(?P<version>\S+)\s+\S+")
# rpm -qa: "kernel-core-5.14.0-427.13.1.el9_4.x86_64" (name-version-release.arch)
_RPM = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+-[^-]+?)(\.(noarch|x86_64|aarch64|i686))?$")
_KERNEL = re.compile(r"^(linux-image-[0-9].*|kernel|kernel-core)$")


def parse_packages(text: str) -> dict[str, str]:
    """name -> version: installed entries of `dpkg -l`, or one rpm NEVRA per line."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    packages: dict[str, str] = {}
    if any(_DPKG.match(line) for line in lines):
        for line in lines:
            match = _DPKG.match(line)
            if match and match["status"] == "i":
                packages[match["name"].split(":", 1)[0]] = match["version"]
        return packages
    for line in lines:
        match = _RPM.match(line.strip())
        if match:
            packages[match["name"]] = match["version"]
    return packages


@dataclass(frozen=True)
class PackageDiff:
    added: dict[str, str]
    removed: dict[str, str]
    changed: dict[str, tuple[str, str]]
    kernel: tuple[str, str] | None  # (kernel in A, kernel in B) when it differs

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def kernel_of(packages: dict[str, str]) -> str:
    """The kernel version: the versioned linux-image package (Debian/Ubuntu) or kernel(-core)."""
    names = sorted(n for n in packages if _KERNEL.match(n))
    if not names:
        return ""
    name = names[-1]
    if name.startswith("linux-image-"):
        return f"{name.removeprefix('linux-image-')} ({packages[name]})"
    return packages[name]


def diff_packages(a: dict[str, str], b: dict[str, str]) -> PackageDiff:
    added = {n: b[n] for n in sorted(b.keys() - a.keys())}
    removed = {n: a[n] for n in sorted(a.keys() - b.keys())}
    changed = {n: (a[n], b[n]) for n in sorted(a.keys() & b.keys()) if a[n] != b[n]}
    ka, kb = kernel_of(a), kernel_of(b)
    return PackageDiff(added, removed, changed, (ka, kb) if ka != kb else None)
