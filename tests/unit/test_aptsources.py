"""Extra archive components for a derived image: the parent's archives, repeated with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from metal_images.builder.aptsources import EXTRA_SOURCES, add_components, archive_entries
from metal_images.errors import MetalImagesError

ONE_LINE = """\
# written by mmdebstrap
deb http://archive.test/debian bookworm main contrib non-free-firmware
deb [signed-by=/usr/share/keyrings/test.gpg arch=amd64] http://archive.test/security bookworm-security main
deb-src http://archive.test/debian bookworm main
"""
DEB822 = """\
Types: deb
URIs: http://archive.test/ubuntu
Suites: noble noble-updates
Components: main universe
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg

Types: deb
URIs: http://archive.test/disabled
Suites: noble
Components: main
Enabled: no
"""


def tree(tmp_path: Path, sources_list: str = "", sources: str = "") -> Path:
    (tmp_path / "etc/apt/sources.list.d").mkdir(parents=True)
    if sources_list:
        (tmp_path / "etc/apt/sources.list").write_text(sources_list)
    if sources:
        (tmp_path / "etc/apt/sources.list.d/ubuntu.sources").write_text(sources)
    return tmp_path


def test_one_line_entries_are_repeated_with_the_new_component(tmp_path: Path) -> None:
    root = tree(tmp_path, ONE_LINE)
    assert add_components(root, ["non-free"], "debian-nvidia/image.yaml") == ["non-free"]
    written = (root / EXTRA_SOURCES).read_text()
    assert written == (
        "Types: deb\nURIs: http://archive.test/debian\nSuites: bookworm\nComponents: non-free\n\n"
        "Types: deb\nURIs: http://archive.test/security\nSuites: bookworm-security\n"
        "Components: non-free\nSigned-By: /usr/share/keyrings/test.gpg\n")
    # our own file is not read back as an archive of the parent
    assert len(archive_entries(root)) == 2


def test_deb822_entries_and_components_already_there(tmp_path: Path) -> None:
    root = tree(tmp_path, sources=DEB822)
    assert add_components(root, ["universe", "multiverse"], "x/image.yaml") == ["multiverse"]
    written = (root / EXTRA_SOURCES).read_text()
    assert ("URIs: http://archive.test/ubuntu\nSuites: noble noble-updates\n"
            "Components: multiverse\n") in written
    assert "disabled" not in written


def test_nothing_to_add_writes_nothing(tmp_path: Path) -> None:
    root = tree(tmp_path, ONE_LINE)
    assert add_components(root, ["main"], "x/image.yaml") == []
    assert not (root / EXTRA_SOURCES).exists()


@pytest.mark.parametrize("bad", ["non free", "main\nEnabled: no", "../x", ""])
def test_bad_component_names_are_refused_before_writing(tmp_path: Path, bad: str) -> None:
    root = tree(tmp_path, ONE_LINE)
    with pytest.raises(MetalImagesError, match=r"x/image\.yaml: components:"):
        add_components(root, [bad], "x/image.yaml")
    assert not (root / EXTRA_SOURCES).exists()


def test_a_parent_without_archives_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MetalImagesError, match="no apt archive entry"):
        add_components(tree(tmp_path), ["non-free"], "x/image.yaml")
