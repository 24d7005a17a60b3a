"""The builder's real code against recorded tools: which commands a build runs, in which
order, and which it does not run again when the stage cache answers (no root needed)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from metal_images import runner
from metal_images.artifact import exporter
from metal_images.artifact.exporter import ImageIdentity
from metal_images.builder.builder import build_image
from metal_images.builder.plan import plan_build
from metal_images.builder.state import load_state, state_path
from metal_images.builder.tools import tool_version
from metal_images.catalog import load_catalog
from metal_images.cli import main
from metal_images.errors import MetalImagesError
from tests.support.recording_runner import Call, RecordingRunner, Reply
from tests.unit.catalog_helpers import write_demo, write_family

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


def test_the_plan_names_hits_misses_and_the_changed_input(fake: RecordingRunner, tmp_path: Path) -> None:
    cold = plan_build(load_catalog(), "demo")
    assert [(s.name, s.hit, s.why, s.maker) for s in cold.stages] == [
        ("bootstrap", False, "not built before", "mmdebstrap"),
        ("customize", False, "not built before", "customize"),
    ]
    assert cold.stages[1].inputs["base"] == cold.stages[0].key  # a child's key holds its base's key
    assert _ran(fake) == []  # planning builds nothing
    result = build_image("demo", catalog=load_catalog())
    assert result.stages == {s.name: s.key for s in cold.stages}
    (tmp_path / "catalog/demo/context/etc/motd").write_text("changed\n")
    warm = plan_build(load_catalog(), "demo")
    assert [(s.name, s.hit) for s in warm.stages] == [("bootstrap", True), ("customize", False)]
    assert "changed context" in warm.stages[1].why and "motd" in warm.stages[1].why
    assert warm.lines()[0] == "build demo: 1 of 2 stages to build"
    assert [s.hit for s in plan_build(load_catalog(), "demo", force=True).stages] == [False, False]


def test_a_derived_image_plans_on_its_parents_final_key(fake: RecordingRunner, tmp_path: Path) -> None:
    write_family(tmp_path / "catalog", "child", 'name: child\nversion: "1"\nfrom: demo\n')
    plan = plan_build(load_catalog(), "child")
    assert [(s.family, s.name) for s in plan.stages] == [
        ("demo", "bootstrap"), ("demo", "customize"), ("child", "customize")]
    assert plan.stages[2].inputs["base"] == plan.stages[1].key
    build_image("child", catalog=load_catalog())
    assert all(s.hit for s in plan_build(load_catalog(), "child").stages)


def test_build_dry_run_prints_the_plan_on_stdout(fake: RecordingRunner) -> None:
    result = CliRunner().invoke(main, ["build", "demo", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "build demo: 2 of 2 stages to build"
    assert lines[1].split()[:2] == ["demo", "bootstrap"] and "miss" in lines[1] and "[mmdebstrap]" in lines[1]
    assert lines[2].split()[:2] == ["demo", "customize"] and "not built before" in lines[2]
    assert _ran(fake) == [] and not (Path(os.environ["METAL_IMAGES_WORKDIR"]) / "demo/rootfs").exists()


def test_the_build_state_is_one_model_for_builder_and_export(fake: RecordingRunner) -> None:
    result = build_image("demo", catalog=load_catalog())
    state = load_state("demo")
    assert state is not None and state.stages == result.stages and state.parent is None
    assert state.tools["mmdebstrap"] == "1.3.5"
    build_json = ImageIdentity("demo", "demo", "1", "stable")
    assert exporter.build_json(build_json, state, level=4, epoch=0, origin="x")["stages"] == result.stages
    state_path("demo").write_text('{"family": "demo", "stages": [1, 2')
    with pytest.raises(MetalImagesError, match="cannot read the build state"):
        load_state("demo")
    assert load_state("other") is None
