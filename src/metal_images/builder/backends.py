"""Bootstrap backends: what turns a base image's package world into its first root tree.

`distribution:` of the base image picks the backend: mmdebstrap for Debian and Ubuntu
(builder/bootstrap.py), `dnf --installroot` for AlmaLinux and CentOS (builder/dnf.py).
A backend also installs the extra packages of a derived image (`from:` + `packages:`)
in the customize stage, since only it knows the package manager.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from metal_images.builder.stagekey import StageInputs
from metal_images.catalog import ImageSpec
from metal_images.errors import MetalImagesError


class BootstrapBackend(Protocol):
    name: str

    def inputs(self, spec: ImageSpec) -> StageInputs:
        """Everything the bootstrap tree depends on (the stage key is their digest)."""
        ...

    def bootstrap(self, spec: ImageSpec, target: Path) -> None:
        """Fill the empty directory `target` with the base image's root tree."""
        ...

    def install_packages(self, spec: ImageSpec, base: ImageSpec, root: Path) -> None:
        """Install a derived image's `packages:` (and kernel) into `root`, mounted for a chroot,
        from the package world of `base` (the root ancestor: distribution, suite, repositories)."""
        ...

    def tools(self) -> dict[str, str]:
        """Versions of the host tools it runs, for build-state.json."""
        ...


def backend_for(distribution: str) -> BootstrapBackend:
    # imported here: each backend pulls in only what it needs
    from metal_images.builder.bootstrap import MmdebstrapBackend
    from metal_images.builder.dnf import DnfBackend

    backends: dict[str, BootstrapBackend] = {
        "debian": MmdebstrapBackend(),
        "ubuntu": MmdebstrapBackend(),
        "almalinux": DnfBackend(),
        "centos": DnfBackend(),
    }
    if distribution not in backends:
        known = ", ".join(sorted(backends))
        raise MetalImagesError(f"no bootstrap backend for distribution {distribution!r} (known: {known})")
    return backends[distribution]
