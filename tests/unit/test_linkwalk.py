"""One resolver for paths inside an image, over a tree on disk and over a tar index."""

from __future__ import annotations

import os
from pathlib import Path

from metal_images import linkwalk
from metal_images.artifact.imageinfo import resolve_in_root
from metal_images.contract.facts import ArchiveEntry, ArchiveFacts


def make_tree(root: Path) -> None:
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/os-release").write_text("ID=debian\n")
    (root / "etc").mkdir()
    os.symlink("usr/lib", root / "lib")
    os.symlink("../usr/lib/os-release", root / "etc/os-release")
    os.symlink("/usr/lib", root / "etc/abs")
    os.symlink("//usr/lib", root / "etc/double")  # still inside the root, not the host's
    os.symlink("loop", root / "loop")


def test_over_a_directory(tmp_path: Path) -> None:
    make_tree(tmp_path)
    readlink, exists = linkwalk.in_directory(tmp_path)
    assert linkwalk.resolve("/etc/os-release", readlink, exists) == "usr/lib/os-release"
    assert linkwalk.resolve("lib/os-release", readlink, exists) == "usr/lib/os-release"
    assert linkwalk.resolve("/etc/abs/os-release", readlink, exists) == "usr/lib/os-release"
    assert linkwalk.resolve("/etc/double/os-release", readlink, exists) == "usr/lib/os-release"
    assert linkwalk.resolve("../../etc/..", readlink, exists) == ""
    assert linkwalk.resolve("/etc/missing", readlink, exists) is None
    assert linkwalk.resolve("/loop", readlink, exists) is None
    # without `exists` a name to be created resolves; follow_last=False stops at the link
    assert linkwalk.resolve("/lib/new", readlink) == "usr/lib/new"
    assert linkwalk.resolve("/lib", readlink, follow_last=False) == "lib"
    assert resolve_in_root(tmp_path, "/etc/os-release") == tmp_path / "usr/lib/os-release"
    assert resolve_in_root(tmp_path, "/etc/nothing") is None


def entry(index: int, name: str, kind: str, linkname: str = "") -> ArchiveEntry:
    return ArchiveEntry(index, "./" + name, name, kind, 0o644, 0, linkname, 0, 0)


def test_over_a_tar_index() -> None:
    facts = ArchiveFacts("test")
    for index, (name, kind, link) in enumerate(
        [
            ("", "dir", ""),
            ("usr/lib/os-release", "file", ""),  # usr and usr/lib have no entries of their own
            ("etc", "dir", ""),
            ("etc/os-release", "symlink", "../usr/lib/os-release"),
            ("etc/hard", "hardlink", "./usr/lib/os-release"),
            ("lib", "symlink", "/usr/lib"),
        ]
    ):
        facts.add(entry(index, name, kind, link))
    found = facts.resolve("/etc/os-release")
    assert found is not None and found.name == "usr/lib/os-release"
    hard = facts.resolve("etc/hard")
    assert hard is not None and hard.name == "usr/lib/os-release"
    lib = facts.resolve("/lib/os-release")
    assert lib is not None and lib.name == "usr/lib/os-release"
    assert facts.resolve("usr/lib") is None  # there, but without an entry
    root = facts.resolve("/etc/..")  # the root's entry, not the last one walked through
    assert root is not None and root.name == ""
    assert facts.resolve("/usr/nothing") is None
