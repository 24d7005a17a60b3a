"""Release files (images/<family>/<version>.yaml): one family folder, several releases that
share its context and steps and state only their differences."""

from __future__ import annotations

from pathlib import Path

import pytest

from metal_images.catalog import load_catalog
from metal_images.catalog.releases import release_version
from metal_images.errors import ConfigError
from metal_images.paths import repo_root
from tests.unit.catalog_helpers import write_demo, write_family


def _release(catalog: Path, version: str, text: str) -> None:
    (catalog / "demo" / f"{version}.yaml").write_text(text)


def _error(catalog: Path, name: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_catalog(catalog).get(name)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_release_shares_the_folder_and_changes_only_what_it_says(tmp_path: Path) -> None:
    write_demo(tmp_path)
    _release(tmp_path, "2", "suite: trixie\npackages:\n  add: [jq]\nargs:\n  EXTRA: x\n")
    catalog = load_catalog(tmp_path)
    assert catalog.families() == ["demo", "demo-2"]
    base, release = catalog.get("demo"), catalog.get("demo-2")
    assert (release.family, release.image_id, release.suite) == ("demo-2", "demo-2", "trixie")
    assert release.packages == [*base.packages, "jq"]
    assert release.step_paths() == base.step_paths()  # the same files, not copies
    assert release.context_dirs == base.context_dirs
    assert release.services == base.services and release.kernel == base.kernel
    assert release.args == {**base.args, "EXTRA": "x"}
    assert catalog.lineage("demo-2") == [release]  # a sibling, not a child of demo


def _derived_family(catalog: Path) -> None:
    write_demo(catalog)
    _release(catalog, "2", "suite: trixie\n")
    write_family(catalog, "gpu", 'name: gpu\nversion: "1"\nfrom: demo\npackages: [driver-1]\n')


def test_a_derived_familys_release_is_built_on_its_parents_release(tmp_path: Path) -> None:
    _derived_family(tmp_path)
    (tmp_path / "gpu" / "2.yaml").write_text(
        "from: demo-2\npackages:\n  drop: [driver-1]\n  add: [driver-2]\n")
    catalog = load_catalog(tmp_path)
    release = catalog.get("gpu-2")
    assert (release.from_, release.packages, release.image_id) == ("demo-2", ["driver-2"], "gpu-2")
    assert [s.family for s in catalog.lineage("gpu-2")] == ["demo-2", "gpu-2"]
    assert [s.family for s in catalog.lineage("gpu")] == ["demo", "gpu"]


def test_a_derived_familys_release_must_name_its_parent(tmp_path: Path) -> None:
    _derived_family(tmp_path)
    (tmp_path / "gpu" / "2.yaml").write_text("packages: [driver-2]\n")
    message = _error(tmp_path, "gpu-2")
    assert "gpu/2.yaml: from: missing: a derived family's release names its parent's release" in message


def test_drop_add_replace_and_nested_services(tmp_path: Path) -> None:
    write_demo(tmp_path)
    _release(tmp_path, "3.1", "packages:\n  drop: [systemd]\n  add: [systemd-sysv]\n"
             "services:\n  enable:\n    add: [other.service]\n  disable: [x.service]\n"
             "steps: []\n")
    release = load_catalog(tmp_path).get("demo-3.1")
    assert release.packages == ["systemd-sysv"]
    assert release.services.enable == ["demo.service", "other.service"]
    assert release.services.disable == ["x.service"]
    assert release.steps == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("packages:\n  drop: [cpufrequtils]\n", "packages.drop: 'cpufrequtils' is not in",
                     id="drop of an entry the base lacks"),
        pytest.param("packages:\n  add: [systemd]\n", "packages.add: 'systemd' is already in",
                     id="add of an entry the base has"),
        pytest.param("packages:\n  append: [jq]\n", "packages: unknown key 'append'", id="unknown list op"),
        pytest.param("packages:\n  add: jq\n", "packages.add: expected a list", id="op not a list"),
        pytest.param('version: "2"\n', "version: a release file cannot change it", id="version"),
        pytest.param("name: other\n", "name: a release file cannot change it", id="name"),
        pytest.param("from: demo\n",
                     "from: a release file cannot change it (image.yaml names a distribution)", id="from"),
        pytest.param("pakages: [jq]\n", "unknown key 'pakages'", id="unknown key"),
        pytest.param("steps:\n  add: [steps/99-missing.sh]\n", "steps.1: script", id="missing step"),
        pytest.param("- a list\n", "expected a mapping", id="not a mapping"),
    ],
)
def test_bad_release_files_give_one_line_naming_the_file(tmp_path: Path, text: str, expected: str) -> None:
    write_demo(tmp_path)
    _release(tmp_path, "2", text)
    message = _error(tmp_path, "demo-2")
    assert "demo/2.yaml" in message and expected in message
    load_catalog(tmp_path).get("demo")  # the broken release breaks only itself


def test_only_version_named_files_are_releases() -> None:
    assert release_version("13.yaml") == "13"
    assert release_version("26.04.yaml") == "26.04"
    assert release_version("image.yaml") is None
    assert release_version("13.yml") is None
    assert release_version("notes.yaml") is None


def test_the_catalogs_releases_extend_their_siblings() -> None:
    catalog = load_catalog(repo_root() / "images")
    for name, base_name, suite in (("debian-13", "debian", "trixie"), ("ubuntu-24.04", "ubuntu", "noble"),
                                   ("ubuntu-26.04", "ubuntu", "resolute")):
        release, base = catalog.get(name), catalog.get(base_name)
        assert release.suite == suite and release.distribution == base.distribution
        assert release.version == name.split("-", 1)[1]
        assert [d.resolve() for d in release.context_dirs] == [d.resolve() for d in base.context_dirs]
        assert set(base.steps) <= set(release.steps)
        assert set(base.services.enable) <= set(release.services.enable)
    assert "usrmerge" not in catalog.get("ubuntu-24.04").packages
    assert "systemd-resolved" in catalog.get("ubuntu-26.04").packages
