"""The server's path check, on its own (the HTTP side is in tests/integration/test_serve.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metal_images.serve.app import _resolve


@pytest.mark.parametrize(
    "tail", ["../etc/passwd", "a/../../etc", "./x", ".hidden", "a/.tmp", "a\\..\\b", "a\x00b", "out/passwd"]
)
def test_refused(tmp_path: Path, tail: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "out").symlink_to("/etc")
    assert _resolve(tmp_path, tail) is None


@pytest.mark.parametrize(
    ("tail", "rel"), [("", "."), ("a", "a"), ("a/b.txt", "a/b.txt"), ("a//b.txt", "a/b.txt")]
)
def test_allowed(tmp_path: Path, tail: str, rel: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.txt").write_text("b")  # only what exists resolves
    assert _resolve(tmp_path.resolve(), tail) == (tmp_path / rel).resolve()
