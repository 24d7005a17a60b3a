"""A deterministic tar stream of a root tree, in the shape metal-hammer's extractor accepts.

Contract 7.4 and 8: names relative to `/` (docker export style: `etc/`, `etc/passwd`), only
directory, regular file, symlink and hardlink entries (archiver v2 turns devices and fifos
into regular files and refuses anything else), no PAX global headers. We write POSIX
ustar headers and add a per-file PAX header only where ustar cannot hold a value (long
names, huge ids); Python's tarfile builds the headers, we stream the file data.

Determinism: entries sorted by name within each directory (parents before children),
mtimes clamped to SOURCE_DATE_EPOCH, no user/group names (numeric ids as in the tree),
hardlinks pointing at the first name in that order, the end padded like GNU tar.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from metal_images.errors import MetalImagesError

# mounted over by metal-hammer (and empty in a running system): keep only the directories
PSEUDO_FILESYSTEMS = frozenset({"proc", "sys", "dev", "run"})
READ_SIZE = 1 << 20
BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE

EntryKind = Literal["dir", "file", "symlink", "hardlink"]


class ByteSink(Protocol):
    def write(self, data: bytes | bytearray | memoryview, /) -> object: ...


@dataclass(slots=True)
class TreeEntry:
    name: str  # archive name: relative, no leading "./", no trailing "/"
    path: str  # where it is on disk
    kind: EntryKind
    mode: int
    uid: int
    gid: int
    mtime: int
    size: int = 0
    linkname: str = ""


@dataclass
class TreeScan:
    """Everything export needs to know about a tree before writing it."""

    root: Path
    entries: list[TreeEntry]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, why)

    @property
    def newest_mtime(self) -> int:
        return max((e.mtime for e in self.entries), default=0)


@dataclass
class TarStats:
    entries: int = 0
    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    hardlinks: int = 0
    file_bytes: int = 0
    tar_bytes: int = 0


def _kind_name(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "unknown file type"


def _entry(
    name: str, path: str, st: os.stat_result, kind: EntryKind, size: int = 0, linkname: str = ""
) -> TreeEntry:
    return TreeEntry(name, path, kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                     max(int(st.st_mtime), 0), size, linkname)


def scan_tree(root: Path) -> TreeScan:
    """Walk `root` (without following symlinks) into a sorted list of entries.

    Only metadata is kept (a few hundred bytes per entry); file data is read later, while
    writing, so memory does not grow with the size of the tree.
    """
    if not root.is_dir():
        raise MetalImagesError(f"{root}: no such directory (is the image built?)")
    scan = TreeScan(root=root, entries=[])
    first_name: dict[tuple[int, int], str] = {}

    def visit(directory: str, prefix: str, top: bool) -> None:
        try:
            with os.scandir(directory) as it:
                children = sorted(it, key=lambda d: os.fsencode(d.name))
        except OSError as exc:
            raise MetalImagesError(f"{directory}: cannot list: {exc.strerror}") from exc
        for child in children:
            name = f"{prefix}{child.name}"
            st = child.stat(follow_symlinks=False)
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                scan.entries.append(_entry(name, child.path, st, "dir"))
                if not (top and child.name in PSEUDO_FILESYSTEMS):
                    visit(child.path, f"{name}/", False)
            elif stat.S_ISLNK(mode):
                scan.entries.append(_entry(name, child.path, st, "symlink", linkname=os.readlink(child.path)))
            elif stat.S_ISREG(mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in first_name:
                    scan.entries.append(_entry(name, child.path, st, "hardlink", linkname=first_name[key]))
                    continue
                if st.st_nlink > 1:
                    first_name[key] = name
                scan.entries.append(_entry(name, child.path, st, "file", size=st.st_size))
            else:
                scan.skipped.append((name, _kind_name(mode)))

    visit(str(root), "", True)
    return scan


_TYPES = {
    "dir": tarfile.DIRTYPE,
    "file": tarfile.REGTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
}


def header(entry: TreeEntry, epoch: int) -> bytes:
    """The ustar header of one entry (with a per-file PAX header before it if needed)."""
    info = tarfile.TarInfo(entry.name)
    info.type = _TYPES[entry.kind]
    info.mode = entry.mode
    info.uid = entry.uid
    info.gid = entry.gid
    info.uname = ""
    info.gname = ""
    info.mtime = min(entry.mtime, epoch)
    info.size = entry.size if entry.kind == "file" else 0
    info.linkname = entry.linkname
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _file_data(entry: TreeEntry) -> Iterator[bytes]:
    """The bytes of a regular file; the size must match the scan (nothing may change the tree)."""
    remaining = entry.size
    try:
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise MetalImagesError(f"{entry.path}: cannot read: {exc.strerror}") from exc
    try:
        while remaining > 0:
            data = os.read(fd, min(READ_SIZE, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
        if remaining != 0 or os.read(fd, 1):
            raise MetalImagesError(f"{entry.path}: file changed size while exporting (is a build running?)")
    finally:
        os.close(fd)


def write_tar(scan: TreeScan, epoch: int, sink: ByteSink) -> TarStats:
    """Write the whole archive to `sink` and return what it holds."""
    stats = TarStats()
    offset = 0
    for entry in scan.entries:
        head = header(entry, epoch)
        sink.write(head)
        offset += len(head)
        stats.entries += 1
        if entry.kind == "file":
            stats.files += 1
            stats.file_bytes += entry.size
            for data in _file_data(entry):
                sink.write(data)
            offset += entry.size
            pad = -entry.size % BLOCK
            if pad:
                sink.write(bytes(pad))
                offset += pad
        elif entry.kind == "dir":
            stats.dirs += 1
        elif entry.kind == "symlink":
            stats.symlinks += 1
        else:
            stats.hardlinks += 1
    # end of archive: two zero blocks, then padding to a full record (as GNU tar does)
    trailer = 2 * BLOCK
    trailer += -(offset + trailer) % RECORD
    sink.write(bytes(trailer))
    stats.tar_bytes = offset + trailer
    return stats
