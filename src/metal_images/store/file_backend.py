"""A store in a local directory (`file:///srv/images` or a plain path).

Writes go to a hidden temp file in the target folder and are renamed into place, so a
reader (serve, cache-sync) never sees half a file; listings skip hidden names.
Uploads are hashed as they are written and renamed into place only when the md5 matches.
A publish holds a lock file in the set's folder, so two publishes of one set cannot
interleave; temp files of killed uploads are removed by the next publish of the set and
by `store clean`. Release copies are hardlinks (instant, no extra space); safe because no object is ever
modified in place, only replaced by rename.

Checksums recorded at upload live in an extended attribute together with the file's size
and mtime; a re-publish trusts them only while both still match (else it hashes the file),
so skipping an unchanged GiB image costs a stat, not a read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from metal_images.errors import MetalImagesError
from metal_images.files import atomic_output, file_digest
from metal_images.identity import check_key, check_prefix
from metal_images.store.backend import ObjectInfo, Progress, check_uploaded

CHUNK = 8 << 20
XATTR = "user.metal-images.checksums"
TEMP_SUFFIX = ".tmp"  # `.<name>.<random>.tmp`: an upload in progress, or left by a killed one
LOCK_FILE = ".publish.lock"


def _record_checksums(fd: int, sha256: str, md5: str) -> None:
    """Remember the checksums for this exact content (size + mtime); best effort."""
    if not sha256:
        return
    st = os.fstat(fd)
    value = f"{sha256} {md5 or '-'} {st.st_size} {st.st_mtime_ns}".encode()
    with contextlib.suppress(OSError):  # no user xattrs here: a re-publish hashes instead
        os.setxattr(fd, XATTR, value)


def _recorded_checksums(path: Path, st: os.stat_result) -> tuple[str | None, str | None]:
    try:
        sha256, md5, size, mtime = os.getxattr(path, XATTR).decode().split()
    except (OSError, ValueError):
        return None, None
    if int(size) != st.st_size or int(mtime) != st.st_mtime_ns:
        return None, None  # changed behind our back: the record is stale
    return sha256, None if md5 == "-" else md5


class FileBackend:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.url = f"file://{self.root}"

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _info(self, key: str, path: Path) -> ObjectInfo:
        st = path.stat()
        modified = dt.datetime.fromtimestamp(st.st_mtime, tz=dt.UTC)
        sha256, md5 = _recorded_checksums(path, st)
        etag = f"{st.st_mtime_ns:x}-{st.st_size:x}"
        return ObjectInfo(key, st.st_size, modified, etag, sha256, md5)

    def stat(self, key: str) -> ObjectInfo | None:
        path = self.path(key)
        if not path.is_file():
            return None
        return self._info(key, path)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        prefix = check_prefix(prefix)
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue  # temp files of an upload in progress
                path = Path(dirpath) / name
                yield self._info(path.relative_to(self.root).as_posix(), path)

    def sha256(self, key: str) -> str | None:
        info = self.stat(key)
        if info is None:
            return None
        return info.sha256 or file_digest(self.path(key))

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise MetalImagesError(f"{self.url}/{key}: no such object") from exc

    def _temp_beside(self, target: Path) -> tuple[int, Path]:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
        return fd, Path(name)

    def put_file(self, key: str, source: Path, *, sha256: str, md5: str, progress: Progress | None) -> str:
        digest = hashlib.md5(usedforsecurity=False)
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        with atomic_output(self.path(key), durable=True, suffix=TEMP_SUFFIX) as out, \
                source.open("rb", buffering=0) as src:
            # read, hash, write: the md5 is of the bytes stored, not of what was exported
            while n := src.readinto(buffer):
                digest.update(view[:n])
                out.write(view[:n])
                if progress:
                    progress(n)
            check_uploaded(key, source, md5, digest.hexdigest())  # raising drops the temp file
            out.flush()
            _record_checksums(out.fileno(), sha256, digest.hexdigest())
        return digest.hexdigest()

    @contextlib.contextmanager
    def set_lock(self, prefix: str) -> Iterator[None]:
        """A lock file in the set's folder (hidden: listings and serve skip it); the kernel
        drops it when the process dies."""
        folder = self.root / check_prefix(prefix)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / LOCK_FILE).open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                message = f"{self.url}/{prefix}: another publish of this set is running"
                raise MetalImagesError(message) from exc
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def clean_leftovers(self, prefix: str, before: dt.datetime) -> Sequence[str]:
        base = self.root / check_prefix(prefix) if prefix else self.root
        removed: list[str] = []
        if not base.is_dir():
            return removed
        for dirpath, _dirnames, filenames in os.walk(base):
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if dt.datetime.fromtimestamp(path.lstat().st_mtime, tz=dt.UTC) < before:
                        path.unlink()
                        removed.append(path.relative_to(self.root).as_posix())
        return removed

    def copy(self, source_key: str, dest_key: str) -> None:
        source, target = self.path(source_key), self.path(dest_key)
        if not source.is_file():
            raise MetalImagesError(f"{self.url}/{source_key}: no such object to copy")
        fd, temp = self._temp_beside(target)
        os.close(fd)
        temp.unlink()
        try:
            try:
                os.link(source, temp)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                info = self.stat(source_key)
                sha, md5 = (info.sha256 or "", info.md5 or "") if info else ("", "")
                self.put_file(dest_key, source, sha256=sha, md5=md5, progress=None)
                return
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def http_base(self) -> str:
        # what `metal-images serve` answers on by default; --base-url overrides it
        return os.environ.get("METAL_IMAGES_BASE_URL", "http://127.0.0.1:8080/").rstrip("/") + "/"
