"""The catalog's AlmaLinux 9 and CentOS 7 images: what upstream's Dockerfiles give them, what
the installer and metal-stack need, no repository host written anywhere, and the context
they share with Debian kept in step."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metal_images import paths
from metal_images.catalog import load_catalog
from metal_images.catalog.model import ImageSpec

RHEL_IMAGES = ["almalinux", "centos"]
# what metal-stack and the installer's RHEL path use on the machine
NEEDED = {"chrony", "frr", "frr-pythontools", "systemd-networkd", "mdadm", "dracut", "grub2-efi-x64",
          "openssh-server", "python3", "python3-pyyaml", "cloud-init", "efibootmgr", "lldpd"}
# the differences an RHEL sshd_config may have from Debian's (group, sftp path, old OpenSSH)
SSHD_CHANGES = {"AllowGroups", "Subsystem", "KbdInteractiveAuthentication",
                "ChallengeResponseAuthentication", "PermitUserRC", "#"}


def _context_text(spec: ImageSpec, relative: str) -> str:
    path = spec.context_file(relative)
    assert path is not None, f"{spec.family}: no context has {relative}"
    return path.read_text()


@pytest.mark.parametrize("family", RHEL_IMAGES)
def test_rhel_image_content(family: str) -> None:
    spec = load_catalog().get(family)
    packages = set(spec.packages)
    needed = NEEDED - {"grub2-efi-x64"} | {"grub2-efi"} if family == "centos" else NEEDED
    assert needed <= packages, needed - packages
    assert spec.kernel == "kernel"
    enabled = set(spec.services.enable)
    assert {"sshd.service", "chronyd.service", "frr.service", "systemd-networkd.service",
            "lldpd.service"} <= enabled
    assert not enabled & {"ssh.service", "systemd-timesyncd.service"}  # Debian's names
    assert spec.services.default_target == "multi-user.target"
    selinux = _context_text(spec, "etc/selinux/config")
    assert "\nSELINUX=disabled\n" in selinux
    preset = _context_text(spec, "etc/systemd/system-preset/90-metal.preset")
    assert "enable frr.service\n" in preset
    assert any(step.endswith("90-initramfs.sh") for step in spec.steps)
    dracut = next(p for p in spec.step_paths() if p.name == "90-initramfs.sh").read_text()
    assert "--no-hostonly" in dracut and '--include "/lib/modules/${version}"' in dracut


@pytest.mark.parametrize("family", RHEL_IMAGES)
def test_no_repository_host_in_the_catalog(family: str) -> None:
    spec = load_catalog().get(family)
    assert spec.mirror is None and spec.mirrors == {}
    for repo in spec.repositories:
        assert repo.gpgcheck and repo.gpgkey
        for url in [repo.baseurl or repo.mirrorlist or "", *repo.gpgkey]:
            assert url.startswith("{"), url  # always a mirror the user sets
    assert {"epel", "frr"} <= {repo.id for repo in spec.repositories}


@pytest.mark.parametrize("family", RHEL_IMAGES)
def test_context_shares_the_common_files_and_keeps_sshd_in_step(family: str) -> None:
    spec = load_catalog().get(family)
    shared = paths.catalog_dir() / "shared" / "context"
    assert spec.context_dirs[0].resolve() == shared.resolve()
    assert len([p for p in shared.rglob("*") if p.is_file()]) >= 15
    # a file of the shared context is not copied again into a family's own context
    for own in spec.context_dirs[1:]:
        copies = [p for p in own.rglob("*") if p.is_file() and (shared / p.relative_to(own)).is_file()]
        assert not copies, copies
    debian = (paths.catalog_dir() / "debian" / "context" / "etc/ssh/sshd_config").read_text()
    mine = _context_text(spec, "etc/ssh/sshd_config")
    changed = [line[1:] for line in difflib.ndiff(debian.splitlines(), mine.splitlines())
               if line[:1] in "+-" and line[1:].strip()]
    keywords = {line.split()[0] for line in changed}
    assert keywords <= SSHD_CHANGES, keywords - SSHD_CHANGES


@pytest.mark.parametrize("family", RHEL_IMAGES)
def test_build_without_a_mirror_is_one_error_line(family: str, tmp_path: Path) -> None:
    """What `make almalinux` shows without a mirror: one line naming the variable, nothing built."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAL_IMAGES_")}
    env |= {"METAL_IMAGES_WORKDIR": str(tmp_path / "work"), "METAL_IMAGES_CACHE": str(tmp_path / "cache"),
            "METAL_IMAGES_CATALOG": str(paths.catalog_dir())}
    proc = subprocess.run([sys.executable, "-m", "metal_images.cli", "build", family], env=env,
                          cwd=paths.repo_root(), capture_output=True, text=True, check=False)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2
    assert errors == [
        f"error: images/{family}/image.yaml: repositories.0.baseurl: no mirror for {{mirror}}: "
        f"set METAL_IMAGES_{family.upper()}_MIRROR (or `mirror:` in images/{family}/image.yaml)"]
    assert not list((tmp_path / "work").rglob("tree"))
