"""pytest plugin for the property checks: the `ctx` and `facts` fixtures, role/OS selection,
root commands."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

import pytest

from .context import CheckContext
from .facts import Facts, GatherStats, gather

# one entry per check module's gathering, read by runner.py once pytest is done
GATHERED: list[GatherStats] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--metal-context", action="store", help="JSON file with the CheckContext")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "roles(*roles): only for these roles (machine, firewall)")
    config.addinivalue_line("markers", "os_ids(*ids): only for these OS ids (debian, ubuntu, ...)")


def _context(config: pytest.Config) -> CheckContext:
    path = config.getoption("--metal-context")
    if not path:
        raise pytest.UsageError("--metal-context is required")
    return CheckContext.load(Path(path))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Checks that do not apply to this role/OS are not run at all (and not counted)."""
    ctx = _context(config)
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        roles = item.get_closest_marker("roles")
        os_ids = item.get_closest_marker("os_ids")
        applies = (roles is None or ctx.role in roles.args) and (os_ids is None or ctx.os_id in os_ids.args)
        (keep if applies else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.fixture(scope="session")
def ctx(request: pytest.FixtureRequest) -> CheckContext:
    return _context(request.config)


@pytest.fixture(scope="module")
def facts(request: pytest.FixtureRequest, host: Any, ctx: CheckContext) -> Facts:
    """Every probe of the module's PROBES, gathered in one batched SSH command (facts.py)."""
    stats = GatherStats(module=request.module.__name__.rsplit(".", 1)[-1])
    GATHERED.append(stats)
    return gather(host.run, getattr(request.module, "PROBES", []), ctx, stats=stats)


class Root:
    """Run commands as root through sudo with the console password (as an operator does)."""

    def __init__(self, host: Any, password: str) -> None:
        self.host = host
        self.password = password

    def run(self, command: str) -> Any:
        return self.host.run(
            f"printf '%s\\n' {shlex.quote(self.password)} | sudo -S -p '' sh -c {shlex.quote(command)}")

    def check_output(self, command: str) -> str:
        result = self.run(command)
        assert result.rc == 0, f"{command!r} failed ({result.rc}): {result.stderr.strip()}"
        return str(result.stdout)


@pytest.fixture(scope="module")
def root(host: Any, ctx: CheckContext) -> Root:
    return Root(host, ctx.password)


def eventually(probe: Any, timeout: float, interval: float = 5) -> Any:
    """Retry `probe` until it returns a truthy value (goss's --retry-timeout, bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
