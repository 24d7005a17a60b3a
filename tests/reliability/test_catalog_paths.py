"""image.yaml paths stay inside the catalog (issue 14.2): what a family names as its
context, steps, keyring or Dockerfile must be a file of the catalog folder after symlinks
are resolved (its own folder, or a sibling family's, e.g. ../debian/steps/x.sh); what it
installs or removes (`artifacts[].path`, `remove`) stays inside the image root; `from:`
names a catalog image. Anything else is refused when the catalog is loaded, with one
`error:` line, before a build could copy host files into an image or run them.

The real `metal-images list` CLI reads a catalog written into a temp folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("metal-images"))

BASE = """\
name: demo
version: "1"
distribution: debian
suite: bookworm
packages: [systemd]
kernel: linux-image-amd64
"""
ALLOWED = "relative to the image folder and inside the catalog"


def write_catalog(tmp_path: Path, extra: str) -> Path:
    """`shared` (a family with files others may use) and `demo` with `extra` keys."""
    catalog = tmp_path / "catalog"
    shared = catalog / "shared"
    (shared / "steps").mkdir(parents=True, exist_ok=True)
    (shared / "context" / "etc").mkdir(parents=True, exist_ok=True)
    (shared / "steps" / "10-common.sh").write_text("#!/bin/sh\ntrue\n")
    (shared / "image.yaml").write_text(BASE.replace("name: demo", "name: shared"))
    folder = catalog / "demo"
    (folder / "steps").mkdir(parents=True, exist_ok=True)
    (folder / "steps" / "10-own.sh").write_text("#!/bin/sh\ntrue\n")
    (folder / "image.yaml").write_text(BASE + extra)
    (tmp_path / "outside").mkdir(exist_ok=True)
    (tmp_path / "outside" / "evil.sh").write_text("#!/bin/sh\ncat /root/.ssh/id_rsa\n")
    return catalog


def list_catalog(catalog: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "list"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "METAL_IMAGES_CATALOG": str(catalog)})


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


@pytest.mark.parametrize(("extra", "key"), [
    ("context: /etc\n", "context"),
    ("context: ../../outside\n", "context"),
    ("steps: [/etc/passwd]\n", "steps.0"),
    ("steps: [steps/10-own.sh, ../../outside/evil.sh]\n", "steps.1"),
    ("keyring: /etc/ssl/certs/ca-certificates.crt\n", "keyring"),
    ("keyring: ../../outside/evil.sh\n", "keyring"),
])
def test_files_outside_the_catalog_are_refused(tmp_path: Path, extra: str, key: str) -> None:
    error = one_error(list_catalog(write_catalog(tmp_path, extra)))
    assert f"image.yaml: {key}: " in error and ALLOWED in error, error


def test_a_dockerfile_outside_the_catalog_is_refused(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path, "")
    spec = "name: demo\nversion: '1'\ndockerfile: ../../outside/Dockerfile\n"
    (catalog / "demo" / "image.yaml").write_text(spec)
    (tmp_path / "outside" / "Dockerfile").write_text("FROM metal-images/shared\n")
    error = one_error(list_catalog(catalog))
    assert "image.yaml: dockerfile: " in error and ALLOWED in error, error


def test_a_symlink_out_of_the_catalog_is_refused(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path, "steps: [steps/20-link.sh]\n")
    (catalog / "demo" / "steps" / "20-link.sh").symlink_to(tmp_path / "outside" / "evil.sh")
    error = one_error(list_catalog(catalog))
    assert "image.yaml: steps.0: " in error and ALLOWED in error, error
    catalog = write_catalog(tmp_path / "second", "context: ctx\n")
    (catalog / "demo" / "ctx").symlink_to("/etc")
    error = one_error(list_catalog(catalog))
    assert "image.yaml: context: " in error and ALLOWED in error, error


def test_files_of_a_sibling_family_are_allowed(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path, "context: ../shared/context\nsteps: [../shared/steps/10-common.sh, "
                                      "steps/10-own.sh]\n")
    result = list_catalog(catalog)
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout and "shared" in result.stdout


@pytest.mark.parametrize(("extra", "key"), [
    ("remove: [/usr/share/doc, /../../etc/passwd]\n", "remove.1"),
    ("remove: [usr/share/doc]\n", "remove.0"),
    ("artifacts:\n  - {name: x, url: 'https://example.invalid/x', sha256: '" + "0" * 64
     + "', path: /usr/local/../../../etc/cron.d/x}\n", "artifacts.0.path"),
    ("artifacts:\n  - {name: x, url: 'https://example.invalid/x', sha256: '" + "0" * 64
     + "', path: \"/usr/local/bin/x\\nevil\"}\n", "artifacts.0.path"),
])
def test_image_paths_stay_inside_the_image_root(tmp_path: Path, extra: str, key: str) -> None:
    error = one_error(list_catalog(write_catalog(tmp_path, extra)))
    assert f"image.yaml: {key}: " in error and "inside the image" in error, error


@pytest.mark.parametrize("parent", ["../shared", "/etc", "shared/../shared", "nonexistent"])
def test_from_must_name_a_catalog_image(tmp_path: Path, parent: str) -> None:
    catalog = write_catalog(tmp_path, "")
    (catalog / "demo" / "image.yaml").write_text(f"name: demo\nversion: '1'\nfrom: '{parent}'\n")
    error = one_error(list_catalog(catalog))
    assert "image.yaml: from: " in error and "catalog image" in error, error
