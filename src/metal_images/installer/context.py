"""What every step gets: the root, the command runner, the environment, and the results
of earlier steps (OS, install.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, Optional, Sequence

from .commands import Completed, Runner, RunOptions, check
from .config import InstallConfig
from .errors import InstallError
from .osinfo import OSInfo
from .target import Target

# metal-hammer writes it; it stays on disk (upstream's go-lldpd reads it at every start)
INSTALL_YAML = "/etc/metal/install.yaml"

if TYPE_CHECKING:  # typing.Unpack is 3.11+; the installer also runs on 3.9
    from typing import Unpack


@dataclass
class Context:
    target: Target
    runner: Runner
    env: Dict[str, str]
    log: Callable[[str], None]
    os: Optional[OSInfo] = None
    config: Optional[InstallConfig] = None
    cmdline: str = ""

    @property
    def from_ci(self) -> bool:
        """INSTALL_FROM_CI=true: a test install; leave the host's boot loader and NVRAM alone."""
        return self.env.get("INSTALL_FROM_CI", "").lower() == "true"

    @property
    def cfg(self) -> InstallConfig:
        if self.config is None:
            raise InstallError("install.yaml has not been read")
        return self.config

    @property
    def osinfo(self) -> OSInfo:
        if self.os is None:
            raise InstallError("the operating system has not been detected")
        return self.os

    def run(self, argv: Sequence[str], **options: Unpack[RunOptions]) -> Completed:
        """Run a command that must succeed."""
        self.log("$ " + " ".join(argv))
        return check(self.runner.run(argv, **options))

    def has(self, tool: str) -> bool:
        return self.runner.which(tool) is not None
