"""`diff A B`: what differs between two image trees or archives, path by path.

Either side is a root tree (a directory) or an img.tar.lz4. Each path is compared by
what export writes for it: its type, content (sha256), mode, owner, mtime and link
target. Hardlinks compare by the content of the file they share, so a tree and the
archive exported from it agree.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import lz4.frame

from metal_images.artifact.tartree import scan_tree
from metal_images.contract.facts import normalize
from metal_images.errors import MetalImagesError

ASPECTS = ("type", "content", "mode", "owner", "mtime", "link")
CHUNK = 1 << 20


@dataclass(frozen=True)
class PathState:
    type: str  # dir, file, symlink, hardlink, other
    mode: int
    uid: int
    gid: int
    mtime: int
    link: str = ""  # symlink target, or the first name of a hardlinked file
    sha256: str = ""  # files and hardlinks


@dataclass(frozen=True)
class Difference:
    path: str
    how: list[str]  # aspects from ASPECTS, or ["only in A"] / ["only in B"]
    a: PathState | None
    b: PathState | None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "how": self.how,
                "a": asdict(self.a) if self.a else None, "b": asdict(self.b) if self.b else None}


def _digest(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def read_tree(root: Path) -> dict[str, PathState]:
    scan = scan_tree(root)
    states: dict[str, PathState] = {}
    for entry in scan.entries:
        digest = ""
        if entry.kind == "file":
            with open(entry.path, "rb") as handle:
                digest = _digest(handle)
        elif entry.kind == "hardlink":
            digest = states[entry.linkname].sha256
        states[entry.name] = PathState(entry.kind, entry.mode, entry.uid, entry.gid, entry.mtime,
                                       entry.linkname, digest)
    for name, _why in scan.skipped:
        states[name] = PathState("other", 0, 0, 0, 0)
    return states


def _tar_type(info: tarfile.TarInfo) -> str:
    if info.isdir():
        return "dir"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    return "file" if info.isreg() else "other"


def read_archive(path: Path) -> dict[str, PathState]:
    states: dict[str, PathState] = {}
    try:
        with lz4.frame.open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            for info in tar:
                name = normalize(info.name)
                kind = _tar_type(info)
                digest = ""
                link = normalize(info.linkname) if kind == "hardlink" else info.linkname
                if kind == "file":
                    handle = tar.extractfile(info)
                    digest = _digest(handle) if handle is not None else ""
                elif kind == "hardlink":
                    target = states.get(link)
                    digest = target.sha256 if target is not None else ""
                states[name] = PathState(kind, info.mode & 0o7777, info.uid, info.gid, int(info.mtime),
                                         link, digest)
    except (OSError, EOFError, RuntimeError, tarfile.TarError) as exc:
        raise MetalImagesError(f"{path}: cannot read the archive: {exc}") from exc
    return states


def read_side(source: Path) -> dict[str, PathState]:
    """A directory is a tree; anything else must be an img.tar.lz4."""
    if source.is_dir():
        return read_tree(source)
    if source.is_file():
        return read_archive(source)
    raise MetalImagesError(f"{source}: no such directory or archive")


def compare(a: PathState, b: PathState, ignore: frozenset[str]) -> list[str]:
    how = []
    if a.type != b.type:
        how.append("type")
    elif a.type in ("file", "hardlink") and a.sha256 != b.sha256:
        how.append("content")
    if a.mode != b.mode:
        how.append("mode")
    if (a.uid, a.gid) != (b.uid, b.gid):
        how.append("owner")
    if a.mtime != b.mtime and a.type != "symlink":  # export writes no symlink mtimes of note
        how.append("mtime")
    if a.type == b.type and a.type in ("symlink", "hardlink") and a.link != b.link:
        how.append("link")
    return [h for h in how if h not in ignore]


def diff_states(a: dict[str, PathState], b: dict[str, PathState],
                ignore: frozenset[str] = frozenset()) -> Iterator[Difference]:
    for path in sorted(a.keys() | b.keys()):
        left, right = a.get(path), b.get(path)
        if left is None:
            yield Difference(path, ["only in B"], None, right)
        elif right is None:
            yield Difference(path, ["only in A"], left, None)
        elif how := compare(left, right, ignore):
            yield Difference(path, how, left, right)


def describe(difference: Difference) -> str:
    """One line: `<how>  /<path>  (<a> -> <b>)`."""
    a, b = difference.a, difference.b
    details = []
    if a is not None and b is not None:
        for aspect in difference.how:
            if aspect == "type":
                details.append(f"{a.type} -> {b.type}")
            elif aspect == "mode":
                details.append(f"{a.mode:04o} -> {b.mode:04o}")
            elif aspect == "owner":
                details.append(f"{a.uid}:{a.gid} -> {b.uid}:{b.gid}")
            elif aspect == "mtime":
                details.append(f"mtime {a.mtime} -> {b.mtime}")
            elif aspect == "link":
                details.append(f"{a.link} -> {b.link}")
    suffix = f"  ({'; '.join(details)})" if details else ""
    return f"{','.join(difference.how)}\t/{difference.path}{suffix}"
