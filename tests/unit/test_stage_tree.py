"""Tree operations of the customize stage on small fake root trees (no root needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from metal_images.builder.cleanup import cleanup, remove_globs
from metal_images.builder.overlay import overlay
from metal_images.builder.rootpath import resolve_in_root
from metal_images.builder.stagestore import StageStore
from metal_images.errors import ConfigError


def _fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "usr/lib").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "lib").symlink_to("usr/lib")
    (root / "etc/resolv.conf").symlink_to("/run/systemd/resolve/stub-resolv.conf")
    return root


def test_resolve_follows_links_inside_the_root(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    assert resolve_in_root(root, "/lib/x") == root / "usr/lib/x"
    # an absolute link is resolved against the image's /, never the host's
    assert resolve_in_root(root, "etc/resolv.conf") == root / "run/systemd/resolve/stub-resolv.conf"
    assert resolve_in_root(root, "etc/resolv.conf", follow_last=False) == root / "etc/resolv.conf"
    assert resolve_in_root(root, "../../etc/passwd") == root / "etc/passwd"


def test_overlay_copies_through_image_links(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    context = tmp_path / "context"
    (context / "lib/modules-load.d").mkdir(parents=True)
    (context / "lib/modules-load.d/x.conf").write_text("x\n")
    (context / "etc").mkdir()
    (context / "etc/resolv.conf").write_text("nameserver 10.0.0.1\n")
    (context / "etc/tool").write_text("#!/bin/sh\n")
    (context / "etc/tool").chmod(0o750)
    overlay(context, root)
    assert (root / "usr/lib/modules-load.d/x.conf").read_text() == "x\n"
    assert (root / "lib").is_symlink()
    # the image's symlink is replaced by the file; nothing written outside the tree
    assert not (root / "etc/resolv.conf").is_symlink()
    assert not (root / "run").exists()
    assert (root / "etc/tool").stat().st_mode & 0o777 == 0o750


def test_cleanup_empties_what_must_not_ship(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for rel in ["var/lib/apt/lists/partial", "var/log/apt", "var/cache/apt/archives", "tmp", "etc"]:
        (root / rel).mkdir(parents=True, exist_ok=True)
    (root / "var/lib/apt/lists/deb_dists_bookworm_InRelease").write_text("x")
    (root / "var/log/apt/history.log").write_text("x")
    (root / "var/cache/apt/archives/a.deb").write_text("x")
    (root / "var/cache/apt/pkgcache.bin").write_text("x")
    (root / "tmp/junk").write_text("x")
    (root / "etc/machine-id").write_text("0123456789abcdef\n")
    (root / "etc/resolv.conf").write_text("nameserver 10.0.0.1\n")
    (root / "etc/hostname").write_text("buildhost\n")
    cleanup(root)
    assert os.listdir(root / "var/lib/apt/lists") == ["partial"]
    assert os.listdir(root / "var/log/apt") == []
    assert not (root / "var/cache/apt/archives/a.deb").exists()
    assert not (root / "var/cache/apt/pkgcache.bin").exists()
    assert os.listdir(root / "tmp") == []
    assert (root / "etc/machine-id").read_text() == ""
    assert not (root / "etc/resolv.conf").exists()
    assert not (root / "etc/hostname").exists()


def test_remove_globs(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "usr/lib/firmware/amdgpu").mkdir(parents=True)
    (root / "usr/lib/firmware/amdgpu/a.bin").write_text("x")
    (root / "usr/lib/firmware/iwlwifi-1.ucode").write_text("x")
    (root / "usr/lib/firmware/keep.bin").write_text("x")
    removed = remove_globs(root, ["/usr/lib/firmware/amd*", "/usr/lib/firmware/*wifi*", "/nothing/*"], "w")
    assert removed == ["/usr/lib/firmware/amdgpu", "/usr/lib/firmware/iwlwifi-1.ucode"]
    assert (root / "usr/lib/firmware/keep.bin").exists()
    with pytest.raises(ConfigError, match="must be an absolute path"):
        remove_globs(root, ["/usr/../../etc"], "images/x/image.yaml")


def test_failed_stage_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAL_IMAGES_WORKDIR", str(tmp_path / "work"))
    store = StageStore("demo")
    with pytest.raises(RuntimeError), store.building("customize", "k" * 64, {"a": 1}) as tree:
        tree.mkdir()
        (tree / "half").write_text("x")
        raise RuntimeError("step failed")
    assert list(store.root.iterdir()) == []
    assert store.lookup("customize", "k" * 64) is None


def test_stage_published_and_old_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAL_IMAGES_WORKDIR", str(tmp_path / "work"))
    store = StageStore("demo")
    for key, value in (("a" * 64, 1), ("b" * 64, 2)):
        with store.building("customize", key, {"value": value}) as tree:
            tree.mkdir()
    assert store.lookup("customize", "a" * 64) is None  # pruned: one tree per stage
    assert store.lookup("customize", "b" * 64) is not None
    assert store.previous_inputs("customize") == {"value": 2}
