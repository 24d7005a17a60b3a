"""Stage keys: which change reruns which stage, and how a miss is explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from metal_images import installer_bundle
from metal_images.builder.bootstrap import bootstrap_inputs, mmdebstrap_argv
from metal_images.builder.customize import customize_inputs, step_environment
from metal_images.builder.stagekey import describe_changes, stage_key, tree_digest
from metal_images.catalog import ImageSpec, load_catalog
from tests.unit.catalog_helpers import BASE_YAML, write_demo, write_family


def _keys(catalog: Path, family: str = "demo") -> tuple[str, str]:
    spec = load_catalog(catalog).get(family)
    bootstrap = stage_key(bootstrap_inputs(spec))
    customize = stage_key(customize_inputs(spec, bootstrap, "debian", "bookworm"))
    return bootstrap, customize


def test_keys_are_stable(tmp_path: Path) -> None:
    write_demo(tmp_path)
    assert _keys(tmp_path) == _keys(tmp_path)


def test_context_file_change_reruns_only_customize(tmp_path: Path) -> None:
    write_demo(tmp_path)
    before = _keys(tmp_path)
    (tmp_path / "demo/context/etc/demo.conf").write_text("a = 2\n")
    after = _keys(tmp_path)
    assert after[0] == before[0]
    assert after[1] != before[1]


def test_context_mode_change_reruns_customize(tmp_path: Path) -> None:
    write_demo(tmp_path)
    before = _keys(tmp_path)
    (tmp_path / "demo/context/etc/demo.conf").chmod(0o600)
    assert _keys(tmp_path)[1] != before[1]


def test_step_change_reruns_only_customize(tmp_path: Path) -> None:
    write_demo(tmp_path)
    before = _keys(tmp_path)
    (tmp_path / "demo/steps/10-hello.sh").write_text("#!/bin/sh\necho bye > /etc/hello\n")
    after = _keys(tmp_path)
    assert after[0] == before[0] and after[1] != before[1]


def test_package_change_reruns_both(tmp_path: Path) -> None:
    write_demo(tmp_path)
    before = _keys(tmp_path)
    (tmp_path / "demo/image.yaml").write_text(BASE_YAML.replace("[systemd]", "[systemd, jq]"))
    after = _keys(tmp_path)
    assert after[0] != before[0]
    assert after[1] != before[1]  # the parent key is an input of customize


def test_args_change_reruns_only_customize(tmp_path: Path) -> None:
    write_demo(tmp_path)
    before = _keys(tmp_path)
    (tmp_path / "demo/image.yaml").write_text(BASE_YAML + "args:\n  FRR_VERSION: '9.1'\n")
    after = _keys(tmp_path)
    assert after[0] == before[0] and after[1] != before[1]


def test_parent_key_changes_child_key(tmp_path: Path) -> None:
    write_demo(tmp_path)
    write_family(tmp_path, "child", 'name: child\nversion: "1"\nfrom: demo\npackages: [jq]\n')
    child = load_catalog(tmp_path).get("child")
    one = stage_key(customize_inputs(child, "a" * 64, "debian", "bookworm"))
    two = stage_key(customize_inputs(child, "b" * 64, "debian", "bookworm"))
    assert one != two
    assert customize_inputs(child, "a" * 64, "debian", "bookworm")["packages"] == ["jq"]


def test_miss_names_the_changed_input(tmp_path: Path) -> None:
    write_demo(tmp_path)
    spec = load_catalog(tmp_path).get("demo")
    old = customize_inputs(spec, "k", "debian", "bookworm")
    (tmp_path / "demo/context/etc/demo.conf").write_text("a = 3\n")
    (tmp_path / "demo/context/etc/new.conf").write_text("new\n")
    new = customize_inputs(load_catalog(tmp_path).get("demo"), "k", "debian", "bookworm")
    text = describe_changes(old, new)
    assert "changed context.etc/demo.conf" in text
    assert "added context.etc/new.conf" in text
    assert "motd" not in text
    assert describe_changes(None, new) == "not built before"
    assert describe_changes(new, new) == "inputs unchanged (forced rebuild)"


def test_tree_digest_records_links_and_modes(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    (tmp_path / "a").chmod(0o640)
    (tmp_path / "l").symlink_to("a")
    (tmp_path / "d").mkdir()
    digest = tree_digest(tmp_path)
    assert digest["a"].startswith("file:0640:")
    assert digest["l"] == "link:a"
    assert digest["d"].startswith("dir:")


def test_mmdebstrap_argv_uses_the_archive_default(tmp_path: Path) -> None:
    write_demo(tmp_path)
    spec: ImageSpec = load_catalog(tmp_path).get("demo")
    argv = mmdebstrap_argv(spec, tmp_path / "tree", tmp_path / "cache")
    assert argv[-2:] == ["bookworm", str(tmp_path / "tree")]  # no mirror: mmdebstrap's default
    assert "--include=systemd,linux-image-amd64" in argv
    assert any(a.startswith("--setup-hook=sync-in ") for a in argv)
    assert any(a.startswith("--customize-hook=sync-out ") for a in argv)
    spec.mirror = "http://mirror.example.invalid/debian"
    assert mmdebstrap_argv(spec, tmp_path / "tree", tmp_path / "cache")[-1] == spec.mirror


def test_step_environment_exports_args(tmp_path: Path) -> None:
    write_demo(tmp_path)
    (tmp_path / "demo/image.yaml").write_text(BASE_YAML + "args:\n  FRR_VERSION: '9.1'\n")
    env = step_environment(load_catalog(tmp_path).get("demo"))
    assert env["FRR_VERSION"] == "9.1"
    assert env["METAL_IMAGE_NAME"] == "demo" and env["METAL_IMAGE_VERSION"] == "1"


def test_installer_change_reruns_customize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_demo(tmp_path)
    source = tmp_path / "installer_main.py"
    source.write_text("print('v1')\n")
    # point the installer's file list at a file this test can change
    monkeypatch.setattr(installer_bundle, "installer_source_files", lambda: [source])
    before = _keys(tmp_path)
    source.write_text("print('v2')\n")
    after = _keys(tmp_path)
    assert after[0] == before[0] and after[1] != before[1]
