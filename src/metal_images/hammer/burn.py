"""Extract img.tar.lz4 with metal-hammer's semantics (mholt/archiver v2, contract 7.4).

- directories: created 0755, their modes (sticky bits included) are not kept;
- regular files, and char/block/fifo entries too: created, chmod'ed to the header mode;
- symlinks: created (an existing path is an error); hardlinks: linked to the target;
- owners and mtimes are not applied (everything belongs to root);
- any other entry type (e.g. a PAX global header) is an error "unknown type flag".
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath

import lz4.frame

from metal_images.errors import MetalImagesError

SUPPORTED_SUFFIX = "lz4"
FILE_LIKE = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.CHRTYPE,
             tarfile.BLKTYPE, tarfile.FIFOTYPE)


def check_url(url: str) -> None:
    if not url.endswith(SUPPORTED_SUFFIX):
        raise MetalImagesError(f"unsupported image compression format: {url} (must end in lz4)")


def _target(root: Path, name: str) -> Path:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise MetalImagesError(f"tar entry {name!r} points outside the root")
    return root / relative


def _refuse_symlink(path: Path, name: str) -> None:
    # the hammer would follow it; on the test host it could point at host files
    if path.is_symlink():
        raise MetalImagesError(f"tar entry {name!r} would write through an existing symlink")


def extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path) -> None:
    path = _target(root, member.name)
    if member.type == tarfile.DIRTYPE:
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif member.type in FILE_LIKE:
        path.parent.mkdir(parents=True, exist_ok=True)
        _refuse_symlink(path, member.name)
        source = tar.extractfile(member) if member.isreg() else None
        with open(path, "wb") as out:
            if source is not None:
                shutil.copyfileobj(source, out, 1024 * 1024)
        os.chmod(path, member.mode & 0o7777)
    elif member.type == tarfile.SYMTYPE:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            raise MetalImagesError(f"tar entry {member.name!r}: symlink target path already exists")
        os.symlink(member.linkname, path)
    elif member.type == tarfile.LNKTYPE:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.link(_target(root, member.linkname), path, follow_symlinks=False)
    else:
        raise MetalImagesError(
            f"tar entry {member.name!r}: unknown type flag {member.type.decode(errors='replace')!r}"
        )


def burn(archive: Path, root: Path, url: str | None = None) -> int:
    """Extract `archive` (tar in LZ4 frames) into `root`; returns the number of entries."""
    check_url(url or archive.name)
    count = 0
    try:
        with lz4.frame.open(archive, "rb") as stream, \
                tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                # tarfile consumes PAX global headers itself; the hammer rejects them
                if tar.pax_headers:
                    raise MetalImagesError(f"{archive}: unknown type flag 'g' (PAX global header)")
                extract_member(tar, member, root)
                count += 1
    except (tarfile.TarError, RuntimeError, EOFError, OSError) as exc:
        raise MetalImagesError(f"extracting {archive} failed: {exc}") from exc
    return count
