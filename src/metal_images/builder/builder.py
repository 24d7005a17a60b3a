"""Build an image of the catalog: parents first, each stage looked up by its key.

bootstrap (base images only)  ->  customize  ->  build/<family>/rootfs (a symlink to the
finished customize tree) + build/<family>/build-state.json.
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
from metal_images.builder.customize import customize_inputs, run_customize
from metal_images.builder.dockerfile import dockerfile_inputs, run_dockerfile
from metal_images.builder.stagekey import StageInputs, describe_changes, stage_key
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
    def __init__(self, catalog: Catalog | None = None, *, force: bool = False) -> None:
        self.catalog = catalog or load_catalog()
        self.force = force
        self.rebuilt: list[str] = []

    def _stage(self, store: StageStore, name: str, inputs: StageInputs,
               make: Callable[[Path], None]) -> Stage:
        key = stage_key(inputs)
        cached = None if self.force else store.lookup(name, key)
        if cached is not None:
            ui.info(f"{store.family} {name}: cached ({key[:12]})")
            return cached
        why = describe_changes(store.previous_inputs(name), inputs)
        with ui.step(f"{store.family} {name} ({why})"), store.building(name, key, inputs) as tree:
            make(tree)
        self.rebuilt.append(f"{store.family}/{name}")
        found = store.lookup(name, key)
        assert found is not None
        return found

    def _build_one(self, spec: ImageSpec, parent_tree: Stage | None) -> dict[str, str]:
        store = StageStore(spec.family)
        base = self.catalog.base(spec.family)
        distribution = base.distribution or "debian"
        suite = base.suite or ""
        has_kernel = any(s.kernel for s in self.catalog.lineage(spec.family))
        stages: dict[str, str] = {}
        if spec.dockerfile:
            assert parent_tree is not None  # the lineage has the Dockerfile's FROM image
            parent = self.catalog.parent_family(spec)
            assert parent is not None
            source = parent_tree
            built = self._stage(store, "dockerfile", dockerfile_inputs(spec, source.key),
                                lambda tree: run_dockerfile(spec, parent, source.tree, tree))
            stages["dockerfile"] = built.key
            base_tree = built
        elif parent_tree is None:
            backend = backend_for(distribution)
            bootstrap = self._stage(store, "bootstrap", backend.inputs(spec),
                                    lambda tree: backend.bootstrap(spec, tree))
            stages["bootstrap"] = bootstrap.key
            base_tree = bootstrap
        else:
            base_tree = parent_tree
        inputs = customize_inputs(spec, base_tree.key, distribution, suite)
        customize = self._stage(
            store, "customize", inputs,
            lambda tree: run_customize(spec, base_tree.tree, tree, distribution=distribution,
                                       suite=suite, has_kernel=has_kernel, base=base),
        )
        stages["customize"] = customize.key
        self._final[spec.family] = customize
        return stages

    def build(self, family: str) -> BuildResult:
        started = time.monotonic()
        self._final: dict[str, Stage] = {}
        lineage = self.catalog.lineage(family)
        stages: dict[str, str] = {}
        with ui.step(f"build {family}"):
            parent: Stage | None = None
            for spec in lineage:
                with _locked(spec.family):
                    stages = self._build_one(spec, parent)
                    parent = self._final[spec.family]
                    self._record(spec, stages, parent)
        assert parent is not None
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
