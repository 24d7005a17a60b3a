"""Messages carry the user's text exactly (issue 14.8): an error line names a URL, key or
address as typed. Rich markup in the text must neither be interpreted (`[fd00::1]` vanished)
nor crash the print (`[/x]` raised a MarkupError traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from metal_images import ui

CLI = str(Path(sys.executable).with_name("metal-images"))


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *argv], capture_output=True, text=True, timeout=60)


def test_an_ipv6_address_in_brackets_is_printed_as_typed(tmp_path: Path) -> None:
    result = cli("serve", "--bind", "[fd00::1]:x", str(tmp_path))
    assert result.returncode != 0
    expected = "error: --bind '[fd00::1]:x': expected HOST:PORT, e.g. 127.0.0.1:8080"
    assert result.stderr.splitlines()[-1] == expected


def test_a_closing_tag_in_a_url_is_printed_not_a_traceback(tmp_path: Path) -> None:
    result = cli("cache-sync", "plan", "--store-url", "xx://h/[/x]", "--image-list", "/dev/null",
                 "--cache-root-path", str(tmp_path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "MarkupError" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: store url 'xx://h/[/x]': unknown scheme 'xx' (use a directory, file://, "
                      "s3://<bucket>, http(s):// or 'direct')"]


def test_warnings_and_steps_keep_brackets() -> None:
    from metal_images import ui

    with ui.console.capture() as captured:
        ui.warn("key metal-os/[/x]/img and host [fd00::1]")
        with ui.step("fetch [bold]x[/bold]"):
            pass
    text = captured.get()
    assert "warning: key metal-os/[/x]/img and host [fd00::1]" in text
    assert "==> fetch [bold]x[/bold]" in text and "<== fetch [bold]x[/bold]" in text


def test_a_failed_commands_reproduce_line_stays_its_own_line(capsys: pytest.CaptureFixture[str]) -> None:
    ui.error("command failed with exit code 1: chroot", reproduce="chroot /t [/x] \x1b[2J")
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["error: command failed with exit code 1: chroot",
                     "  reproduce with: chroot /t [/x] \\x1b[2J"]


def test_an_error_is_one_line_whatever_newlines_the_users_text_holds() -> None:
    with ui.console.capture() as captured:
        ui.error("/tmp/images/debian/12\n: expected .../<os>/<version>/ (\x1b[2J)")
        ui.error("command failed with exit code 1: apt\n  reproduce with: a forged line")
    assert captured.get().splitlines() == [
        "error: /tmp/images/debian/12\\n: expected .../<os>/<version>/ (\\x1b[2J)",
        "error: command failed with exit code 1: apt\\n  reproduce with: a forged line",
    ]
