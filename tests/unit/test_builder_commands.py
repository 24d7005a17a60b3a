"""The builder's real code against recorded tools: which commands a build runs, in which
order, and which it does not run again when the stage cache answers (no root needed)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from metal_images import runner
from metal_images.builder.builder import build_image
from metal_images.builder.tools import tool_version
from metal_images.catalog import load_catalog
from metal_images.errors import MetalImagesError
from tests.support.recording_runner import Call, RecordingRunner, Reply
from tests.unit.catalog_helpers import write_demo

KERNEL = "6.1.0-99-amd64"


def _mmdebstrap(call: Call) -> Reply:
    """What mmdebstrap leaves behind, as far as the customize stage looks: a tree with one kernel."""
    if call.kind == "probe":  # --version
        return Reply(output="mmdebstrap 1.3.5\n")
    target = Path(call.argv[-1])
    for folder in ("etc", "boot", "usr/bin", "proc", "sys", "dev/pts", "tmp"):
        (target / folder).mkdir(parents=True, exist_ok=True)
    (target / "etc/os-release").write_text("ID=debian\nVERSION_ID=12\n")
    (target / f"boot/System.map-{KERNEL}").write_text("")
    (target / f"boot/vmlinuz-{KERNEL}").write_text("kernel")
    return Reply()


def _cp(call: Call) -> Reply:
    source, target = call.argv[-2], call.argv[-1]  # cp -a --reflink=auto SOURCE TARGET
    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    return Reply()


def _rm(call: Call) -> Reply:
    shutil.rmtree(call.argv[-1], ignore_errors=True)  # rm -rf --one-file-system PATH
    return Reply()


@pytest.fixture()
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingRunner]:
    write_demo(tmp_path / "catalog")
    monkeypatch.setenv("METAL_IMAGES_CATALOG", str(tmp_path / "catalog"))
    monkeypatch.setenv("METAL_IMAGES_WORKDIR", str(tmp_path / "build"))
    monkeypatch.setenv("METAL_IMAGES_CACHE", str(tmp_path / "cache"))
    tool_version.cache_clear()
    recording = RecordingRunner(handlers={
        "mmdebstrap": _mmdebstrap,
        "cp": _cp,
        "rm": _rm,
    })
    with runner.replaced(recording):
        yield recording
    tool_version.cache_clear()


def _ran(fake: RecordingRunner) -> list[str]:
    """The commands that do the work (mounts and version probes aside)."""
    return [" ".join(c.inner[:2]) for c in fake.calls
            if c.kind == "run" and c.program not in ("mount", "umount")]


def test_a_cold_build_bootstraps_customizes_and_records(fake: RecordingRunner, tmp_path: Path) -> None:
    result = build_image("demo", catalog=load_catalog())
    assert result.rebuilt == ["demo/bootstrap", "demo/customize"]
    ran = _ran(fake)
    assert ran[:2] == ["mmdebstrap --mode=root", "cp -a"]
    step = next(c for c in fake.calls if c.inner and c.inner[0].endswith("/00-10-hello.sh"))
    assert step.argv[0] == "chroot" and "METAL_IMAGE_NAME=demo" in step.argv
    assert ran.index("systemctl enable") > ran.index(" ".join(step.inner[:2]))  # services after the steps
    mmdebstrap = fake.argvs("mmdebstrap")[0]
    assert "--include=systemd,linux-image-amd64" in mmdebstrap and "bookworm" in mmdebstrap
    # the chroot's API file systems are mounted for the steps and unmounted again
    mounts = [c.argv[-1] for c in fake.calls if c.program == "mount"]
    unmounts = [c.argv[-1] for c in fake.calls if c.program == "umount"]
    assert mounts and sorted(mounts) == sorted(unmounts)
    assert (result.rootfs / "install.sh").is_file()
    assert (result.rootfs / "etc/demo.conf").read_text() == "a = 1\n"


def test_a_second_build_runs_nothing(fake: RecordingRunner) -> None:
    build_image("demo", catalog=load_catalog())
    fake.calls.clear()
    result = build_image("demo", catalog=load_catalog())
    assert result.rebuilt == []
    assert _ran(fake) == []


def test_a_changed_context_file_reruns_only_customize(fake: RecordingRunner, tmp_path: Path) -> None:
    build_image("demo", catalog=load_catalog())
    (tmp_path / "catalog/demo/context/etc/demo.conf").write_text("a = 2\n")
    fake.calls.clear()
    result = build_image("demo", catalog=load_catalog())
    assert result.rebuilt == ["demo/customize"]
    assert "mmdebstrap --mode=root" not in _ran(fake)
    assert (result.rootfs / "etc/demo.conf").read_text() == "a = 2\n"


def test_a_failing_step_caches_nothing_of_its_stage(fake: RecordingRunner) -> None:
    fake.handlers["00-10-hello.sh"] = lambda call: Reply(code=3, output="boom")
    with pytest.raises(MetalImagesError, match="exit code 3"):
        build_image("demo", catalog=load_catalog())
    del fake.handlers["00-10-hello.sh"]
    assert build_image("demo", catalog=load_catalog()).rebuilt == ["demo/customize"]


def test_old_trees_are_deleted_in_the_background(fake: RecordingRunner, tmp_path: Path) -> None:
    build_image("demo", catalog=load_catalog())
    (tmp_path / "catalog/demo/context/etc/demo.conf").write_text("a = 2\n")
    build_image("demo", catalog=load_catalog())
    detached = [c.argv for c in fake.calls if c.kind == "detach"]
    assert detached and all(argv[:3] == ["rm", "-rf", "--one-file-system"] for argv in detached)
    assert all(Path(argv[3]).name.startswith(".trash-") for argv in detached)


def test_a_missing_tool_is_one_clear_error(fake: RecordingRunner) -> None:
    fake.handlers["mmdebstrap"] = lambda call: Reply(code=runner.NOT_FOUND)
    tool_version.cache_clear()
    with pytest.raises(MetalImagesError, match="mmdebstrap is not installed"):
        tool_version("mmdebstrap")
