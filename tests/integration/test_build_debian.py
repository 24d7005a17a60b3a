"""The real Debian 12 build: mmdebstrap against the archive, customize in a chroot, the
stage cache. Needs root and network access to the Debian archive (first run only)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from metal_images import paths
from metal_images.builder.builder import build_image
from metal_images.builder.shell import shell
from metal_images.builder.stagestore import mounts_below, remove_tree
from metal_images.builder.state import read_state
from metal_images.catalog import load_catalog
from metal_images.errors import MetalImagesError

pytestmark = [pytest.mark.slow, pytest.mark.root]


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    """A copy of the real catalog's debian folder that a test may change."""
    catalog = tmp_path / "images"
    for family in ("shared", "debian"):  # debian overlays ../shared/context first
        shutil.copytree(paths.catalog_dir() / family, catalog / family, symlinks=True)
    return catalog


def test_debian_tree(debian_rootfs: Path) -> None:
    root = debian_rootfs
    assert len(list((root / "boot").glob("System.map-*"))) == 1
    assert len(list((root / "boot").glob("vmlinuz-*"))) == 1
    assert len(list((root / "boot").glob("initrd.img-*"))) == 1
    assert (root / "install.sh").stat().st_mode & 0o111
    assert (root / "etc/metal/networker").is_dir()
    assert (root / "etc/metal/cloud-init-custom.sh").stat().st_mode & 0o111
    # context files in place, with the modes the step set
    assert "kernel.printk = 2 4 1 7" in (root / "etc/sysctl.d/11-console-logging.conf").read_text()
    assert "AllowUsers metal" in (root / "etc/ssh/sshd_config").read_text()
    assert (root / "etc/ssh/sshd_config").stat().st_mode & 0o777 == 0o600
    assert (root / "etc/sudoers.d/metal").stat().st_mode & 0o777 == 0o440
    # a step's effect: the locale and time zone from args
    assert (root / "etc/localtime").resolve().name == "Berlin"
    assert (root / "usr/lib/locale/locale-archive").is_file()
    assert (root / "usr/local/bin/ignition").resolve(strict=False).name == "ignition"
    # services enabled and masked
    system = root / "etc/systemd/system"
    for link in ["multi-user.target.wants/frr.service", "multi-user.target.wants/ssh.service",
                 "multi-user.target.wants/systemd-networkd.service",
                 "multi-user.target.wants/lldpd.service", "multi-user.target.wants/containerd.service",
                 "multi-user.target.wants/cloud-init-custom.service",
                 "sysinit.target.wants/systemd-timesyncd.service",
                 "getty.target.wants/serial-getty@ttyS1.service", "ssh.service.wants/ssh-hostkeys.service"]:
        assert (system / link).is_symlink(), link
    assert (system / "default.target.wants/watchdog.service").is_symlink()
    assert str((system / "console-getty.service").readlink()) == "/dev/null"
    assert (system / "default.target").readlink().name == "multi-user.target"
    # cleanup: nothing of the build host or the build left behind
    assert (root / "etc/machine-id").read_text() == ""
    assert not (root / "etc/resolv.conf").exists()
    assert not (root / "etc/hostname").exists()
    assert not list((root / "etc/ssh").glob("ssh_host_*"))
    assert not [p for p in (root / "var/lib/apt/lists").rglob("*") if p.is_file()]
    assert not list((root / "var/cache/apt/archives").glob("*.deb"))
    assert not [p for p in (root / "var/log").rglob("*") if p.is_file()]
    assert not (root / "usr/sbin/policy-rc.d").exists()
    assert not mounts_below(root.resolve())
    # no public DNS servers baked in: the installer writes resolv.conf
    assert not (root / "etc/systemd/resolved.conf.d").exists()
    state = read_state("debian")
    assert state.name == "debian" and state.version == "12" and state.parent is None
    assert set(state.stages) == {"bootstrap", "customize"} and state.tools["mmdebstrap"]


def test_rebuild_is_a_cache_hit(debian_rootfs: Path) -> None:
    before = debian_rootfs.resolve()
    started = time.monotonic()
    result = build_image("debian")
    elapsed = time.monotonic() - started
    assert result.rebuilt == []
    assert elapsed < 10, f"cache hit took {elapsed:.1f}s"
    assert debian_rootfs.resolve() == before


def test_shell_runs_commands_with_mounts(debian_rootfs: Path) -> None:
    assert shell("debian", ["test", "-x", "/install.sh"]) == 0
    assert shell("debian", ["sh", "-c", "test -e /proc/self/status && exit 7"]) == 7
    assert shell("debian", ["dpkg-query", "-W", "frr", "openssh-server", "ignition", "lldpd"]) == 0
    assert shell("debian", ["sh", "-c", "ignition -version && command -v vtysh && nft --version"]) == 0
    assert shell("debian", ["test", "-e", "/etc/resolv.conf"]) == 1
    assert shell("debian", ["test", "-s", "/etc/resolv.conf"], network=True) == 0
    assert not (debian_rootfs / "etc/resolv.conf").exists()
    assert not mounts_below(debian_rootfs.resolve())


def test_one_context_file_reruns_only_customize(debian_rootfs: Path, catalog_copy: Path) -> None:
    motd = catalog_copy / "debian/context/etc/motd"
    motd.write_text("changed by test_one_context_file_reruns_only_customize\n")
    bootstrap_before = read_state("debian").stages["bootstrap"]
    try:
        started = time.monotonic()
        result = build_image("debian", catalog=load_catalog(catalog_copy))
        print(f"incremental rebuild: {time.monotonic() - started:.1f}s")
        assert result.rebuilt == ["debian/customize"]
        assert read_state("debian").stages["bootstrap"] == bootstrap_before
        assert "changed by test" in (debian_rootfs / "etc/motd").read_text()
    finally:
        # put the real image back for the other tests of the session
        restored = build_image("debian")
    assert restored.rebuilt == ["debian/customize"]
    assert "changed by test" not in (debian_rootfs / "etc/motd").read_text()


@pytest.fixture
def derived_family(catalog_copy: Path) -> Iterator[tuple[Path, str]]:
    family = "test-derived"
    folder = catalog_copy / family
    (folder / "context/etc/systemd/system").mkdir(parents=True)
    (folder / "context/etc/derived.conf").write_text("derived = yes\n")
    (folder / "context/etc/systemd/system/derived.service").write_text(
        "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n")
    (folder / "steps").mkdir()
    step = folder / "steps/10-mark.sh"
    step.write_text('#!/bin/sh\nset -eu\necho "$MARK" > /etc/derived-mark\n')
    step.chmod(0o755)
    (folder / "image.yaml").write_text(
        'name: test-derived\nversion: "1"\nfrom: debian\npackages: [pv]\n'
        "steps: [steps/10-mark.sh]\nargs:\n  MARK: from-args\n"
        "services:\n  enable: [derived.service]\n")
    try:
        yield catalog_copy, family
    finally:
        remove_tree(paths.image_work_dir(family))


def test_derived_image_and_failing_step(debian_rootfs: Path, derived_family: tuple[Path, str]) -> None:
    catalog_root, family = derived_family
    result = build_image(family, catalog=load_catalog(catalog_root))
    root = result.rootfs
    assert result.rebuilt == [f"{family}/customize"]
    assert (root / "usr/bin/pv").is_file()  # an extra package through apt in the chroot
    assert (root / "etc/derived.conf").read_text() == "derived = yes\n"
    assert (root / "etc/derived-mark").read_text() == "from-args\n"
    assert (root / "etc/systemd/system/multi-user.target.wants/derived.service").is_symlink()
    assert (root / "etc/sysctl.d/11-console-logging.conf").is_file()  # inherited from debian
    assert len(list((root / "boot").glob("System.map-*"))) == 1
    assert not [p for p in (root / "var/lib/apt/lists").rglob("*") if p.is_file()]
    assert read_state(family).parent == "debian"
    # a failing step: one clear error, no half-written stage, nothing mounted
    (catalog_root / family / "steps/10-mark.sh").write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    with pytest.raises(MetalImagesError, match="exit code 3"):
        build_image(family, catalog=load_catalog(catalog_root))
    stages = paths.image_work_dir(family) / "stages"
    assert not [p for p in stages.iterdir() if p.name.startswith(".tmp-")]
    assert not mounts_below(paths.image_work_dir(family).resolve())
    assert (root / "etc/derived-mark").read_text() == "from-args\n"  # the last good tree stays


def test_sigterm_during_a_step_unwinds(debian_rootfs: Path, catalog_copy: Path) -> None:
    """`kill` of a build: mounts undone, no half-written stage, no process left in the tree."""
    family = "test-sigterm"
    folder = catalog_copy / family
    (folder / "steps").mkdir(parents=True)
    # durations nothing else on the machine uses: the check below looks for them with pgrep
    step = folder / "steps/10-hang.sh"
    step.write_text("#!/bin/sh\nsleep 3141 &\necho started > /tmp/hang-started\nsleep 3142\n")
    step.chmod(0o755)
    (folder / "image.yaml").write_text(
        f'name: {family}\nversion: "1"\nfrom: debian\nsteps: [steps/10-hang.sh]\n')
    cli = Path(sys.executable).with_name("metal-images")
    env = {**os.environ, "METAL_IMAGES_CATALOG": str(catalog_copy)}
    proc = subprocess.Popen([str(cli), "build", family], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    stages = paths.image_work_dir(family) / "stages"
    try:
        deadline = time.monotonic() + 180
        while not list(stages.glob(".tmp-*/tree/tmp/hang-started")):
            assert proc.poll() is None and time.monotonic() < deadline, "the step never started"
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode != 0
        assert "interrupted" in output
        assert not mounts_below(paths.image_work_dir(family).resolve())
        assert not list(stages.iterdir())
        hung = subprocess.run(["pgrep", "-f", "sleep 314[12]"], capture_output=True, text=True)
        assert hung.stdout == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        remove_tree(paths.image_work_dir(family))
