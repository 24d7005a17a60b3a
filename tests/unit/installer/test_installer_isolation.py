"""The installer runs inside images: Python 3.9+, standard library + PyYAML, nothing else."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import metal_images.installer as installer_package

PACKAGE = Path(installer_package.__file__).parent
SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
ALLOWED_THIRD_PARTY = {"yaml"}


def imported_top_levels(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_stdlib_yaml_and_relative_imports() -> None:
    for source in SOURCES:
        tree = ast.parse(source.read_text(), filename=str(source))
        foreign = {
            name
            for name in imported_top_levels(tree)
            if name not in sys.stdlib_module_names and name not in ALLOWED_THIRD_PARTY
        }
        assert not foreign, f"{source.name} imports {foreign}"


def test_sources_parse_as_python_3_9() -> None:
    for source in SOURCES:
        ast.parse(source.read_text(), filename=str(source), feature_version=(3, 9))


def test_imports_alone_without_metal_images(tmp_path: Path) -> None:
    """Import every module with only a copy of the installer on sys.path (as in the zipapp)."""
    shutil.copytree(PACKAGE, tmp_path / "installer", ignore=shutil.ignore_patterns("__pycache__"))
    modules = sorted(
        "installer." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
        for p in SOURCES
        if p.name not in ("__init__.py", "__main__.py")
    )
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import importlib\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = [m for m in sys.modules if m == 'metal_images' or m.startswith('metal_images.')]\n"
        "assert not leaked, leaked\n"
        "print('ok', len(sys.modules))\n"
    )
    # the system interpreter, as in an image: metal_images is not installed there
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    result = subprocess.run(
        [python, "-I", "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
