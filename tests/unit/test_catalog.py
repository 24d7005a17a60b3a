"""Catalog validation: every bad input gives one error naming the file and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metal_images.catalog import load_catalog
from metal_images.errors import ConfigError
from tests.unit.catalog_helpers import BASE_YAML, write_demo, write_family


def _error(catalog: Path, family: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_catalog(catalog).lineage(family)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_valid_catalog_loads(tmp_path: Path) -> None:
    write_demo(tmp_path)
    spec = load_catalog(tmp_path).get("demo")
    assert spec.image_id == "demo-1"
    assert spec.step_paths()[0].name == "10-hello.sh"
    assert spec.services.enable == ["demo.service"]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    write_demo(tmp_path)
    text = BASE_YAML + "packages: [unclosed\n"
    (tmp_path / "demo/image.yaml").write_text(text)
    message = _error(tmp_path, "demo")
    assert "demo/image.yaml" in message
    assert "YAML syntax error" in message
    # the parser notices the missing ']' at the end of the file
    assert f"line {text.count(chr(10)) + 1}, column 1" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            BASE_YAML + "pakages: [vim]\n",
            ["demo/image.yaml", "unknown key 'pakages'"],
            id="unknown key",
        ),
        pytest.param(
            BASE_YAML.replace("enable:", "enabel:"),
            ["unknown key 'services.enabel'"],
            id="unknown nested key",
        ),
        pytest.param(
            BASE_YAML.replace("packages: [systemd]", "packages: systemd"),
            ["demo/image.yaml: packages:", "list"],
            id="wrong type",
        ),
        pytest.param(BASE_YAML + "variant: everything\n", ["variant"], id="wrong variant"),
        pytest.param(
            BASE_YAML + "context: files\n",
            ["demo/image.yaml: context:", "does not exist"],
            id="missing context dir",
        ),
        pytest.param(
            BASE_YAML.replace("10-hello.sh", "20-gone.sh"),
            ["steps.0", "20-gone.sh", "does not exist"],
            id="missing step script",
        ),
    ],
)
def test_bad_image_yaml(tmp_path: Path, text: str, expected: list[str]) -> None:
    write_demo(tmp_path)
    (tmp_path / "demo/image.yaml").write_text(text)
    message = _error(tmp_path, "demo")
    assert [piece for piece in expected if piece not in message] == [], message


def test_unknown_parent(tmp_path: Path) -> None:
    write_family(tmp_path, "child", 'name: child\nversion: "1"\nfrom: nowhere\n')
    message = _error(tmp_path, "child")
    assert "child/image.yaml" in message and "unknown parent image 'nowhere'" in message


def test_cycle_of_parents(tmp_path: Path) -> None:
    write_family(tmp_path, "a", 'name: a\nversion: "1"\nfrom: b\n')
    write_family(tmp_path, "b", 'name: b\nversion: "1"\nfrom: a\n')
    message = _error(tmp_path, "a")
    assert "cycle of parents" in message and "a -> b -> a" in message


def test_base_is_required(tmp_path: Path) -> None:
    write_family(tmp_path, "lost", 'name: lost\nversion: "1"\n')
    assert "exactly one of" in _error(tmp_path, "lost")


def test_unknown_image(tmp_path: Path) -> None:
    write_demo(tmp_path)
    with pytest.raises(ConfigError, match=r"unknown image 'other' \(known: demo\)"):
        load_catalog(tmp_path).get("other")


def test_image_id_names_the_image_too(tmp_path: Path) -> None:
    write_demo(tmp_path)
    write_family(tmp_path, "broken", "name: [\n")  # a broken neighbour does not get in the way
    catalog = load_catalog(tmp_path)
    demo = catalog.get("demo")
    assert catalog.get(demo.image_id) is demo
    with pytest.raises(ConfigError, match=r"unknown image 'demo-0' \(known: broken, demo\)"):
        catalog.get("demo-0")


def test_lineage_is_root_first(tmp_path: Path) -> None:
    write_demo(tmp_path)
    write_family(tmp_path, "child", 'name: child\nversion: "1"\nfrom: demo\n')
    write_family(tmp_path, "grandchild", 'name: grandchild\nversion: "1"\nfrom: child\n')
    catalog = load_catalog(tmp_path)
    assert [s.family for s in catalog.lineage("grandchild")] == ["demo", "child", "grandchild"]
    assert catalog.base("grandchild").family == "demo"
    assert catalog.distribution("grandchild") == "debian"


def test_real_catalog_is_valid() -> None:
    catalog = load_catalog()
    debian = catalog.get("debian")
    # the kernel is pinned to an exact ABI package, never the floating metapackage
    assert debian.suite == "bookworm" and re.fullmatch(r"linux-image-6\.1\.0-\d+-amd64", debian.kernel)
    assert "console-getty.service" in debian.services.mask
    # chrony and systemd-timesyncd conflict; the worker image keeps timesyncd
    assert "chrony" not in debian.packages


def _dockerfile_image(catalog: Path, dockerfile: str) -> None:
    write_family(catalog, "dimage", 'name: dimage\nversion: "1"\ndockerfile: Dockerfile\n',
                 steps={"Dockerfile": dockerfile})


def test_dockerfile_from_a_catalog_image(tmp_path: Path) -> None:
    write_demo(tmp_path)
    _dockerfile_image(tmp_path, "FROM metal-images/demo\nRUN echo hi > /etc/hi\n")
    assert [s.family for s in load_catalog(tmp_path).lineage("dimage")] == ["demo", "dimage"]


def test_dockerfile_from_a_registry_is_refused(tmp_path: Path) -> None:
    _dockerfile_image(tmp_path, "FROM golang:1.22 AS build\nFROM metal-images/demo\n")
    message = _error(tmp_path, "dimage")
    assert "dimage/Dockerfile: FROM golang:1.22: only catalog images" in message


def test_dockerfile_from_unknown_catalog_image(tmp_path: Path) -> None:
    _dockerfile_image(tmp_path, "FROM metal-images/nowhere\n")
    assert "dockerfile: FROM unknown parent image 'nowhere'" in _error(tmp_path, "dimage")


def test_missing_dockerfile(tmp_path: Path) -> None:
    write_family(tmp_path, "dimage", 'name: dimage\nversion: "1"\ndockerfile: Dockerfile\n')
    assert "dockerfile: file" in _error(tmp_path, "dimage")
