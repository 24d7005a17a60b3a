"""The root tree being installed, with atomic writes and user lookups.

Inside metal-hammer's chroot the root is `/`; the unit tests point it at a temporary
directory. Every path the installer touches goes through `Target.path()`, so nothing
outside the root is ever written. Users and groups are looked up in the root's own
/etc/passwd and /etc/group (never the host's databases).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import List, Optional, Tuple, Union

from .errors import InstallError

Content = Union[str, bytes]


class Target:
    def __init__(self, root: Union[str, Path] = "/") -> None:
        self.root = Path(root)

    def path(self, absolute: str) -> Path:
        """`absolute` (a path inside the image) as a path on this system."""
        if not absolute.startswith("/"):
            raise ValueError(f"not an absolute path: {absolute}")
        return self.root / absolute.lstrip("/")

    def exists(self, absolute: str) -> bool:
        return os.path.lexists(self.path(absolute))

    def read(self, absolute: str) -> str:
        return self.path(absolute).read_text(encoding="utf-8")

    def glob(self, directory: str, pattern: str) -> List[str]:
        """Absolute in-image paths of the entries of `directory` matching `pattern`, sorted."""
        base = self.path(directory)
        if not base.is_dir():
            return []
        return sorted(f"{directory.rstrip('/')}/{p.name}" for p in base.glob(pattern))

    def write(
        self,
        absolute: str,
        content: Content,
        mode: int = 0o644,
        owner: Optional[Tuple[int, int]] = None,
    ) -> None:
        """Write a file atomically: a temporary file in the same directory, then rename.

        A symlink at the destination (e.g. resolv.conf pointing into /run) is replaced by
        the regular file, never followed. Without `owner`, a replaced file keeps its owner.
        """
        dest = self.path(absolute)
        if owner is None and dest.is_file() and not dest.is_symlink():
            info = dest.stat()
            owner = (info.st_uid, info.st_gid)
        dest.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=str(dest.parent))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            if owner is not None:
                os.chown(tmp, owner[0], owner[1])
            os.replace(tmp, dest)
        except OSError as exc:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise InstallError(f"cannot write {absolute}: {exc.strerror or exc}") from exc

    def remove(self, absolute: str) -> None:
        path = self.path(absolute)
        if os.path.lexists(path):
            path.unlink()

    def mkdir(self, absolute: str, mode: int, owner: Optional[Tuple[int, int]] = None) -> None:
        path = self.path(absolute)
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
        if owner is not None:
            os.chown(path, owner[0], owner[1])

    # --- the root's user database -------------------------------------------------------

    def _entries(self, database: str) -> List[List[str]]:
        path = self.path(database)
        if not path.exists():
            return []
        return [
            line.split(":")
            for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")
        ]

    def user(self, name: str) -> Optional[Tuple[int, int]]:
        """(uid, primary gid) of `name` in the root's /etc/passwd, or None."""
        for fields in self._entries("/etc/passwd"):
            if len(fields) >= 4 and fields[0] == name:
                return int(fields[2]), int(fields[3])
        return None

    def user_with_uid(self, uid: int) -> Optional[str]:
        for fields in self._entries("/etc/passwd"):
            if len(fields) >= 3 and fields[2] == str(uid):
                return fields[0]
        return None

    def group(self, name: str) -> Optional[int]:
        for fields in self._entries("/etc/group"):
            if len(fields) >= 3 and fields[0] == name:
                return int(fields[2])
        return None
