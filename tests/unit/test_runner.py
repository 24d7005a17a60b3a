"""The system runner with real processes: probes answer, background processes stop."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from metal_images import runner
from metal_images.errors import CommandError, MetalImagesError

SYSTEM = runner.SystemRunner()


def test_a_probe_answers_and_never_raises() -> None:
    yes = SYSTEM.probe([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"])
    assert (yes.ok, yes.stdout, yes.stderr) == (True, "out\n", "err\n")
    assert SYSTEM.probe(["false"]).returncode == 1
    missing = SYSTEM.probe(["/nonexistent/tool", "--version"])
    assert missing.returncode == runner.NOT_FOUND and "command not found" in missing.stderr
    slow = SYSTEM.probe(["sleep", "5"], timeout=0.2)
    assert slow.returncode is None and not slow.ok


def test_run_failure_carries_a_reproducing_line() -> None:
    with pytest.raises(CommandError, match=r"reproduce with: .*exit 3") as info:
        SYSTEM.run(["sh", "-c", "echo last words; exit 3"])
    assert "last words" in info.value.detail


def test_background_is_stopped_when_the_block_ends(tmp_path: Path) -> None:
    log = tmp_path / "daemon.log"
    with SYSTEM.background(["sh", "-c", "echo started; exec sleep 60"], log, name="daemon") as proc:
        pid = proc.pid
        deadline = time.monotonic() + 5
        while "started" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        runner.require_running(proc, "daemon", log)
    assert proc.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_require_running_reports_an_early_exit_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "daemon.log"
    with SYSTEM.background(["sh", "-c", "echo bad config; exit 2"], log, name="daemon") as proc:
        deadline = time.monotonic() + 5
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(MetalImagesError, match="daemon exited with code 2") as info:
            runner.require_running(proc, "daemon", log)
    assert "bad config" in info.value.detail


def test_replaced_puts_the_previous_runner_back() -> None:
    before = runner.current()
    other = runner.SystemRunner()
    with runner.replaced(other):
        assert runner.current() is other
    assert runner.current() is before
