"""The package database of a root tree: packages.txt and the package list for SBOM/info.

Read from the tree's own database with the host's tools pointed at it (`dpkg-query
--admindir`, `rpm --root`), so nothing runs inside the image.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from metal_images.errors import MetalImagesError
from metal_images.runner import capture

PackageFormat = Literal["deb", "rpm"]

_DPKG_FIELDS = "${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Status}\\t${source:Package}\\n"
_RPM_FIELDS = "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\tinstalled\\t%{SOURCERPM}\\n"


@dataclass(frozen=True, order=True)
class Package:
    name: str
    arch: str
    version: str
    source: str = ""


# where an image's rpm keeps its database (RHEL 9; newer Fedora-likes)
RPM_DBPATHS = ("var/lib/rpm", "usr/lib/sysimage/rpm")


def package_format(root: Path) -> PackageFormat | None:
    if (root / "var/lib/dpkg/status").is_file():
        return "deb"
    if any((root / path).is_dir() for path in RPM_DBPATHS):
        return "rpm"
    return None


def _require(tool: str, why: str) -> None:
    if shutil.which(tool) is None:
        raise MetalImagesError(f"{tool} not found: it is needed to {why} (install the {tool} package)")


def _dpkg(root: Path, *args: str) -> str:
    _require("dpkg-query", "read the package database of a Debian/Ubuntu tree")
    return capture(["dpkg-query", f"--admindir={root / 'var/lib/dpkg'}", *args])


def _rpm(root: Path, *args: str) -> str:
    _require("rpm", "read the package database of an RPM tree")
    # the image's database path, not the host rpm's default (Debian's is ~/.rpmdb)
    dbpath = next((path for path in RPM_DBPATHS if (root / path).is_dir()), RPM_DBPATHS[0])
    return capture(["rpm", f"--root={root}", f"--dbpath=/{dbpath}", "-qa", *args])


def packages_listing(root: Path) -> str:
    """packages.txt as upstream writes it: `dpkg -l`, or `rpm -qa` (sorted here: stable output)."""
    fmt = package_format(root)
    if fmt == "deb":
        return _dpkg(root, "-l")
    if fmt == "rpm":
        lines = sorted(line for line in _rpm(root).splitlines() if line)
        return "".join(f"{line}\n" for line in lines)
    raise MetalImagesError(f"{root}: no package database (neither var/lib/dpkg/status nor an rpm database)")


def installed_packages(root: Path) -> list[Package]:
    fmt = package_format(root)
    if fmt is None:
        return []
    raw = _dpkg(root, "-W", f"-f={_DPKG_FIELDS}") if fmt == "deb" else _rpm(root, f"--qf={_RPM_FIELDS}")
    packages: set[Package] = set()
    for line in raw.splitlines():
        fields = line.split("\t")
        if len(fields) != 5 or fields[3] != "installed":
            continue
        name, version, arch, _, source = fields
        if fmt == "rpm":
            version = version.removeprefix("0:")
            source = source.removesuffix(".src.rpm")
        packages.add(Package(name=name, arch=arch, version=version, source=source))
    return sorted(packages)
