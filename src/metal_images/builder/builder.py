"""Build an image of the catalog: parents first, each stage looked up by its key.

bootstrap (base images only)  ->  customize  ->  build/<family>/rootfs (a symlink to the
finished customize tree) + build/<family>/build-state.json. What to build is decided first
(builder/plan.py, printed by `build --dry-run`); the Builder then carries the plan out.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from metal_images import __version__, paths, ui
from metal_images.builder.backends import backend_for
from metal_images.builder.customize import run_customize
from metal_images.builder.dockerfile import run_dockerfile
from metal_images.builder.plan import BOOTSTRAP, DOCKERFILE, PlannedStage, plan_build
from metal_images.builder.stagestore import Stage, StageStore
from metal_images.builder.state import BuildState, write_state
from metal_images.builder.tools import tool_version
from metal_images.catalog import Catalog, ImageSpec, load_catalog
from metal_images.errors import MetalImagesError


@dataclass
class BuildResult:
    family: str
    rootfs: Path
    stages: dict[str, str]
    rebuilt: list[str]
    seconds: float


@contextmanager
def _locked(family: str) -> Iterator[None]:
    """One build per image at a time; a second one waits, then finds the cache warm."""
    lock_path = paths.image_work_dir(family).with_name(f".{family}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            ui.info(f"waiting for another build of {family} to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _publish_rootfs(family: str, stage: Stage) -> Path:
    link = paths.rootfs_dir(family)
    if link.exists() and not link.is_symlink():
        raise MetalImagesError(f"{link} is a directory the builder did not make; move it away")
    tmp = link.with_name(".rootfs-new")
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(stage.tree, link.parent), tmp)
    os.replace(tmp, link)
    return link


class Builder:
    """Carries out a build plan (builder/plan.py): each missing stage is made, parents first."""

    def __init__(self, catalog: Catalog | None = None, *, force: bool = False) -> None:
        self.catalog = catalog or load_catalog()
        self.force = force
        self.rebuilt: list[str] = []

    def _make(self, planned: PlannedStage, base: Stage | None) -> Callable[[Path], None]:
        """What fills the tree of one stage; `base` is the stage it starts from."""
        spec = planned.spec
        if planned.name == DOCKERFILE:
            parent = self.catalog.parent_family(spec)
            assert parent is not None and base is not None
            return lambda tree: run_dockerfile(spec, parent, base.tree, tree)
        if planned.name == BOOTSTRAP:
            backend = backend_for(self.catalog.distribution(spec.family))
            return lambda tree: backend.bootstrap(spec, tree)
        assert base is not None
        root = self.catalog.base(spec.family)
        has_kernel = any(s.kernel for s in self.catalog.lineage(spec.family))
        return lambda tree: run_customize(spec, base.tree, tree, distribution=root.distribution or "debian",
                                          suite=root.suite or "", has_kernel=has_kernel, base=root)

    def _stage(self, planned: PlannedStage, base: Stage | None) -> Stage:
        store = StageStore(planned.family)
        # looked up again under the image's lock: a concurrent build may have made it meanwhile
        cached = None if self.force else store.lookup(planned.name, planned.key)
        if cached is not None:
            ui.info(f"{planned.family} {planned.name}: cached ({planned.key[:12]})")
            return cached
        make = self._make(planned, base)
        with ui.step(f"{planned.family} {planned.name} ({planned.why})"), \
                store.building(planned.name, planned.key, planned.inputs) as tree:
            make(tree)
        self.rebuilt.append(f"{planned.family}/{planned.name}")
        found = store.lookup(planned.name, planned.key)
        assert found is not None
        return found

    def build(self, family: str) -> BuildResult:
        started = time.monotonic()
        plan = plan_build(self.catalog, family, force=self.force)
        with ui.step(f"build {family}"):
            final: Stage | None = None
            for spec in self.catalog.lineage(family):
                own = [s for s in plan.stages if s.family == spec.family]
                with _locked(spec.family):
                    for planned in own:
                        final = self._stage(planned, final)
                    assert final is not None
                    self._record(spec, {s.name: s.key for s in own}, final)
            stages = {s.name: s.key for s in plan.stages if s.family == family}
        return BuildResult(family, paths.rootfs_dir(family), stages, list(self.rebuilt),
                           time.monotonic() - started)

    def _record(self, spec: ImageSpec, stages: dict[str, str], final: Stage) -> None:
        rootfs = _publish_rootfs(spec.family, final)
        tools = {"metal-images": __version__}
        tools.update(backend_for(self.catalog.distribution(spec.family)).tools())
        if "dockerfile" in stages:
            tools["buildah"] = tool_version("buildah")
        write_state(BuildState(
            family=spec.family,
            name=spec.name,
            version=spec.version,
            parent=self.catalog.parent_family(spec),
            stages=stages,
            args=spec.args,
            tools=tools,
            built_at=_finished_at(final),
            rootfs=str(rootfs),
        ))


def _finished_at(stage: Stage) -> str:
    finished = (stage.folder / "inputs.json").stat().st_mtime
    return datetime.fromtimestamp(finished, UTC).isoformat(timespec="seconds")


def build_image(family: str, *, force: bool = False, catalog: Catalog | None = None) -> BuildResult:
    return Builder(catalog, force=force).build(family)
