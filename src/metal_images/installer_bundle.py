"""Put our installer into an image as an executable `/install.sh` (a Python zipapp).

The builder calls `write_install_sh(root)` at the end of the customize stage and hashes
`installer_source_files()` into the stage key. The zipapp holds the installer package
(as the top-level package `installer`, it only uses relative imports), a `__main__.py`
and `installer/build_info.json`; it is deterministic: sorted entries, fixed timestamps
and modes, so the same sources (and SOURCE_DATE_EPOCH) always give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipapp
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from metal_images import __version__
from metal_images.files import atomic_output

INSTALLER_PACKAGE = Path(__file__).resolve().parent / "installer"
INTERPRETER = "/usr/bin/python3"
# zip timestamps cannot predate 1980; every entry gets this one
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
# the oldest Python the installer runs on; older ones (CentOS 7 has 3.6) cannot even parse
# it, so the entry point, kept parseable by any Python 3, says so in one line first
OLDEST_PYTHON = (3, 9)
MAIN = (
    "# the entry point of /install.sh (a zipapp built by metal-images)\n"
    "import sys\n\n"
    f"if sys.version_info < {OLDEST_PYTHON!r}:\n"
    "    sys.stderr.write('install.sh: needs Python %d.%d or newer with PyYAML, this image has %d.%d\\n'\n"
    f"                     % ({OLDEST_PYTHON[0]}, {OLDEST_PYTHON[1]},"
    " sys.version_info[0], sys.version_info[1]))\n"
    "    sys.exit(1)\n\n"
    "from installer.main import main\n\n"
    "sys.exit(main())\n"
)


def installer_source_files() -> list[Path]:
    """The files whose content defines the installer (for stage keys)."""
    return sorted(p for p in INSTALLER_PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def sources_digest() -> str:
    """sha256 over the installer's relative paths and contents."""
    digest = hashlib.sha256()
    for path in installer_source_files():
        digest.update(path.relative_to(INSTALLER_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_info() -> dict[str, str]:
    """What build-meta.yaml reports about the installer; stable for the same sources.

    buildDate comes from SOURCE_DATE_EPOCH (reproducible-builds convention) when set.
    """
    sha = sources_digest()[:12]
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    date = datetime.fromtimestamp(int(epoch), tz=UTC).isoformat() if epoch.isdigit() else ""
    revision = f"metal-images-{__version__}-{sha}"
    return {"version": f"v{__version__}", "sha": sha, "revision": revision, "date": date}


def archive_entries() -> dict[str, bytes]:
    """Archive name -> content of every file in the zipapp."""
    entries = {
        "installer/" + p.relative_to(INSTALLER_PACKAGE).as_posix(): p.read_bytes()
        for p in installer_source_files()
    }
    entries["installer/build_info.json"] = (json.dumps(build_info(), sort_keys=True) + "\n").encode()
    entries["__main__.py"] = MAIN.encode()
    return entries


def _write_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in sorted(archive_entries().items()):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data)


def write_install_sh(root: Path) -> Path:
    """Write `<root>/install.sh` (mode 0755) atomically and return its path."""
    target = root / "install.sh"
    with tempfile.TemporaryDirectory(prefix="installer-zipapp-") as tmp:
        # zipapp orders a directory's files as the filesystem lists them; so the archive is
        # written in sorted order first and zipapp only prepends the interpreter line
        plain = Path(tmp) / "installer.zip"
        _write_zip(plain)
        with atomic_output(target, mode=0o755) as handle:
            zipapp.create_archive(plain, handle, interpreter=INTERPRETER)
    return target
