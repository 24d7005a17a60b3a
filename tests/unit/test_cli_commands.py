"""The verb table in cli.py agrees with what the area modules define, and verbs load lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from metal_images.cli import COMMAND_AREAS, main


def test_every_verb_of_every_area_is_in_the_table() -> None:
    defined = {}
    for area in set(COMMAND_AREAS.values()):
        for command in importlib.import_module(f"metal_images.commands.{area}").COMMANDS:
            defined[command.name] = area
    assert defined == COMMAND_AREAS


def test_help_lists_every_verb() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == set(COMMAND_AREAS)


def test_unknown_verb_is_one_clear_error() -> None:
    result = CliRunner().invoke(main, ["bulid"])
    assert result.exit_code == 2
    assert "No such command 'bulid'" in result.output


def test_cache_sync_does_not_import_the_vm_harness_or_pytest() -> None:
    probe = ("import sys; from metal_images.cli import load_command; load_command('cache-sync'); "
             "print(' '.join(m for m in ('pytest', 'metal_images.proof.harness', "
             "'metal_images.builder.builder') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_one_quiet_cache_sync_round_starts_without_the_servers(tmp_path: Path) -> None:
    # start-up is most of a short round (issue 19.4): the servers' libraries load only to serve
    images = tmp_path / "images.json"
    images.write_text("[]")
    (tmp_path / "store").mkdir()
    (tmp_path / "cache").mkdir()
    probe = ("import atexit, sys; from metal_images.cli import main; "
             "atexit.register(lambda: print('loaded:', *(m for m in ('aiohttp', 'prometheus_client') "
             "if m in sys.modules), file=sys.stderr)); "
             f"sys.argv = ['metal-images', '-q', 'cache-sync', 'run', '--once', '--store-url', "
             f"'{tmp_path / 'store'}', '--image-list', '{images}', "
             f"'--cache-root-path', '{tmp_path / 'cache'}']; "
             "main()")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "loaded:", result.stderr  # and -q keeps the plan table back
