"""Copy a `context/` folder onto `/` of a root tree, like a Dockerfile's `COPY context/ /`.

Everything lands owned by root (the checkout's owner means nothing inside the image);
modes come from the source. Directories that already exist keep their mode.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from metal_images.builder.rootpath import resolve_in_root
from metal_images.builder.stagekey import tree_digest


def overlay(context: Path, root: Path) -> int:
    """Copy `context` onto `root`; return the number of entries copied."""
    count = 0
    for rel, kind in sorted(tree_digest(context).items()):
        source = context / rel
        # follow symlinks in the image for the parents, never for the entry itself
        target = resolve_in_root(root, rel, follow_last=False)
        if kind.startswith("dir:"):
            if target.is_symlink() or target.is_dir():
                continue
            target.mkdir(parents=True)
            os.chmod(target, source.stat().st_mode & 0o7777)
            os.chown(target, 0, 0)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                target.unlink()
            if kind.startswith("link:"):
                os.symlink(os.readlink(source), target)
                os.lchown(target, 0, 0)
            else:
                shutil.copyfile(source, target)
                os.chmod(target, source.stat().st_mode & 0o7777)
                os.chown(target, 0, 0)
        count += 1
    return count
