"""Entry point of /install.sh: install into `/` and exit 0, or print one line and exit 1.

Inputs: /etc/metal/install.yaml (required), /etc/metal/userdata (optional), and the
environment variable INSTALL_FROM_CI=true (skip grub-install, update-grub and UEFI boot
entries, as upstream's integration tests do).
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

from .commands import SubprocessRunner
from .errors import StepFailed
from .steps import install
from .target import Target


def _log(message: str) -> None:
    print(message, flush=True)


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    try:
        install(Target("/"), SubprocessRunner(), dict(os.environ), _log)
    except StepFailed as exc:
        sys.stdout.flush()
        print(f"install.sh: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("install.sh: interrupted", file=sys.stderr)
        return 130
    _log("install.sh: installation finished")
    return 0
