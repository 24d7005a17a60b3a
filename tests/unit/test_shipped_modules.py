"""What ships in the package is the tool: test helpers live in tests/support."""

from __future__ import annotations

import ast
from pathlib import Path

import metal_images

PACKAGE = Path(metal_images.__file__).parent
TEST_ONLY = {"moto", "tests"}  # dev dependencies and the test tree


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_shipped_module_is_a_test_helper() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 50
    helpers = [m.relative_to(PACKAGE).as_posix() for m in modules if m.stem in ("testing", "sample")]
    assert helpers == []
    leaks = {m.relative_to(PACKAGE).as_posix(): sorted(_imported_roots(m) & TEST_ONLY) for m in modules}
    assert {name: roots for name, roots in leaks.items() if roots} == {}
