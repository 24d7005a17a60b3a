"""Run the property checks with pytest-testinfra and return one result per check."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from metal_images import ui
from metal_images.errors import MetalImagesError

from . import plugin
from .context import CheckContext

HERE = Path(__file__).resolve().parent
# the check modules, in the order they run (properties.py settles the boot first)
CHECK_MODULES = (HERE / "properties.py", HERE / "shipped.py", HERE / "routing.py", HERE / "nft_ruleset.py",
                 HERE / "gpu.py")


@dataclass(frozen=True)
class CheckResult:
    name: str
    outcome: str  # passed | failed | skipped | error
    seconds: float
    message: str


class _Collector:
    """pytest hooks that record each check's outcome (setup errors count as failures)."""

    def __init__(self, host_id: str) -> None:
        self.results: list[CheckResult] = []
        # testinfra parametrizes every test with the host (`ssh://<address>`): noise here
        self._host_param = re.compile(re.escape(host_id) + "-?")

    def _name(self, nodeid: str) -> str:
        return self._host_param.sub("", nodeid.split("::", 1)[-1]).removesuffix("[]")

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            outcome = report.outcome if report.when == "call" else ("error" if report.failed else "skipped")
            message = ""
            if report.failed:
                crash = getattr(report.longrepr, "reprcrash", None)
                message = crash.message if crash is not None else str(report.longrepr)[-500:]
            elif report.skipped and isinstance(report.longrepr, tuple):
                message = str(report.longrepr[2])
            self.results.append(CheckResult(self._name(report.nodeid), outcome, report.duration,
                                            message.strip().splitlines()[0] if message.strip() else ""))


def run_checks(ctx: CheckContext, *, address: str, ssh_config: Path, key: Path,
               out: Path) -> list[CheckResult]:
    """Run every check that applies to ctx.role/ctx.os_id; write a JUnit XML report."""
    out.mkdir(parents=True, exist_ok=True)
    context_file = ctx.save(out / "check-context.json")
    collector = _Collector(f"ssh://{address}")
    args = [
        *(str(m) for m in CHECK_MODULES), "-p", "metal_images.checks.plugin", "-p", "no:cacheprovider",
        "-c", os.devnull, "--rootdir", str(out), "-q", "-rN", "--tb=short",
        f"--hosts=ssh://{address}", f"--ssh-config={ssh_config}", f"--ssh-identity-file={key}",
        f"--metal-context={context_file}", f"--junitxml={out / 'junit.xml'}",
        "-o", "junit_family=xunit2", "-o", "junit_suite_name=metal-images-test",
    ]
    # pytest's progress is a log; stdout carries only the results (the summary table)
    plugin.GATHERED.clear()
    with contextlib.redirect_stdout(sys.stderr):
        code = pytest.main(args, plugins=[collector])
    for stats in plugin.GATHERED:
        ui.info(stats.line())
    if code == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt("property checks interrupted")
    broken = (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED)
    if code in broken:
        raise MetalImagesError(f"the property checks could not run (pytest exit code {int(code)})")
    return collector.results
