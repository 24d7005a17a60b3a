"""`diff`: trees and archives compared path by path (artifact/treediff.py, commands/diff.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import lz4.frame
from click.testing import CliRunner

from metal_images.artifact.tartree import scan_tree, write_tar
from metal_images.artifact.treediff import diff_states, read_side
from metal_images.cli import main

EPOCH = 1_700_000_000


def make_tree(root: Path) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc/hostname").write_text("machine\n")
    (root / "etc/shadow").write_text("root:*:1::::::\n")
    (root / "etc/shadow").chmod(0o640)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/tool").write_bytes(b"\x7fELF tool")
    os.link(root / "usr/bin/tool", root / "usr/bin/tool-alias")
    (root / "etc/localtime").symlink_to("/usr/share/zoneinfo/Europe/Berlin")
    for path in root.rglob("*"):
        os.utime(path, (EPOCH, EPOCH), follow_symlinks=False)
    os.utime(root, (EPOCH, EPOCH))
    return root


def export(root: Path, archive: Path) -> Path:
    with lz4.frame.open(archive, "wb") as sink:
        write_tar(scan_tree(root), EPOCH, sink)
    return archive


def test_tree_and_its_archive_are_alike(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "a")
    archive = export(tree, tmp_path / "img.tar.lz4")
    assert list(diff_states(read_side(tree), read_side(archive))) == []


def test_each_kind_of_difference_is_named(tmp_path: Path) -> None:
    a = make_tree(tmp_path / "a")
    b = make_tree(tmp_path / "b")
    (b / "etc/hostname").write_text("other\n")
    os.utime(b / "etc/hostname", (EPOCH, EPOCH))
    (b / "etc/shadow").chmod(0o600)
    (b / "etc/localtime").unlink()
    (b / "etc/localtime").symlink_to("/usr/share/zoneinfo/UTC")
    (b / "etc/new").write_text("x")
    (a / "usr/bin/tool-alias").unlink()
    os.utime(b / "usr/bin/tool", (EPOCH + 5, EPOCH + 5))
    if os.geteuid() == 0:
        os.chown(b / "etc/shadow", 0, 42)
    found = {d.path: d.how for d in diff_states(read_side(a), read_side(b))}
    expected = {
        "etc/hostname": ["content"],
        "etc/shadow": ["mode", "owner"] if os.geteuid() == 0 else ["mode"],
        "etc/localtime": ["link"],
        "etc/new": ["only in B"],
        "usr/bin/tool": ["mtime"],
        "usr/bin/tool-alias": ["only in B"],
        "etc": ["mtime"],  # etc/new changed the directory
        "usr/bin": ["mtime"],  # so did unlinking tool-alias in A
    }
    assert found == expected


def test_cli_json_and_exit_codes(tmp_path: Path) -> None:
    a = make_tree(tmp_path / "a")
    archive = export(a, tmp_path / "img.tar.lz4")
    runner = CliRunner()
    same = runner.invoke(main, ["-q", "diff", str(a), str(archive)])
    assert (same.exit_code, same.stdout) == (0, "")
    (a / "etc/hostname").write_text("changed\n")
    os.utime(a / "etc/hostname", (EPOCH, EPOCH))
    changed = runner.invoke(main, ["-q", "diff", "--json", str(archive), str(a)])
    assert changed.exit_code == 1
    data = json.loads(changed.stdout)
    assert [(d["path"], d["how"]) for d in data] == [("etc/hostname", ["content"])]
    assert data[0]["a"]["sha256"] != data[0]["b"]["sha256"]
    text = runner.invoke(main, ["-q", "diff", "--ignore", "content", str(archive), str(a)])
    assert (text.exit_code, text.stdout) == (0, "")


def test_missing_side_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "nope"), str(tmp_path)])
    assert result.exit_code != 0
    assert "error:" in result.output and "nope" in result.output
