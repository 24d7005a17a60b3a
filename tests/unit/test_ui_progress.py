"""The shared transfer progress display: shown on a terminal, never in logs or with -q."""

from __future__ import annotations

import io
import os
import sys

import pytest
from rich.progress import DownloadColumn, TransferSpeedColumn

from metal_images import ui


def test_transfer_progress_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    primary, secondary = os.openpty()  # a real pseudo terminal as stderr
    try:
        with os.fdopen(secondary, "w") as tty:
            monkeypatch.setattr(sys, "stderr", tty)
            progress = ui.transfer_progress()
            assert progress is not None
            kinds = {type(column) for column in progress.columns}
            assert {DownloadColumn, TransferSpeedColumn} <= kinds
            monkeypatch.setattr(ui.settings, "quiet", True)
            assert ui.transfer_progress() is None
    finally:
        os.close(primary)


def test_no_transfer_progress_into_a_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert ui.transfer_progress() is None
