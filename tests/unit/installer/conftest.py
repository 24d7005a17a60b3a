from __future__ import annotations

from pathlib import Path

import pytest
from installer_fakes import ALL_TOOLS, FakeRunner, default_handlers


@pytest.fixture
def fake_runner(tmp_path: Path) -> FakeRunner:
    root = tmp_path / "root"
    root.mkdir()
    return FakeRunner(root=root, tools=set(ALL_TOOLS), handlers=default_handlers(root))
