"""Put our installer into an image as an executable `/install.sh` (a Python zipapp).

Owned by the installer issue; the builder calls `write_install_sh(root)` at the end of
the customize stage, and hashes `installer_source_files()` into the stage key.
"""

from __future__ import annotations

from pathlib import Path

INSTALLER_PACKAGE = Path(__file__).resolve().parent / "installer"


def installer_source_files() -> list[Path]:
    """The files whose content defines the installer (for stage keys)."""
    return sorted(p for p in INSTALLER_PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


PLACEHOLDER = (
    "#!/bin/sh\necho 'install.sh: the metal-images installer is not built into this image yet' >&2\nexit 1\n"
)


def write_install_sh(root: Path) -> Path:
    """Write `<root>/install.sh` and return its path.

    Placeholder until the installer issue lands: a script that fails loudly, so an image
    built now can never pass as installable.
    """
    target = root / "install.sh"
    target.write_text(PLACEHOLDER)
    target.chmod(0o755)
    return target
