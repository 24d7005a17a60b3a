"""Build as plan, then run: which stages an image needs, their keys, hit or miss, and why.

The plan reads the catalog and the stage store and changes nothing, so `build --dry-run`
prints it and `Builder` carries it out. Every stage of the lineage (parents first) is one
`PlannedStage`; its key is computed from its inputs alone (a child's inputs hold its
parent's final key), so the whole plan is known before anything is built.

Stage kinds, and what makes their tree:
    bootstrap   the base image's bootstrap backend (`distribution:` picks it, see backends.py)
    dockerfile  buildah, for `dockerfile:` images
    customize   overlay, steps, services, installer, cleanup (every image)
"""

from __future__ import annotations

from dataclasses import dataclass

from metal_images.builder.backends import backend_for
from metal_images.builder.customize import customize_inputs
from metal_images.builder.dockerfile import dockerfile_inputs
from metal_images.builder.stagekey import StageInputs, describe_changes, stage_key
from metal_images.builder.stagestore import KEY_CHARS, StageStore
from metal_images.catalog import Catalog, ImageSpec

BOOTSTRAP, DOCKERFILE, CUSTOMIZE = "bootstrap", "dockerfile", "customize"


@dataclass(frozen=True)
class PlannedStage:
    spec: ImageSpec
    name: str  # bootstrap | dockerfile | customize
    key: str
    inputs: StageInputs
    hit: bool
    why: str  # for a miss: which inputs changed since the last build of this stage
    maker: str  # what builds the tree: the bootstrap backend's name, buildah, customize

    @property
    def family(self) -> str:
        return self.spec.family

    def line(self) -> str:
        state = "hit " if self.hit else "miss"
        reason = "" if self.hit else f"  {self.why}"
        return f"{self.family:<12} {self.name:<10} {self.key[:KEY_CHARS]}  {state}  [{self.maker}]{reason}"


@dataclass(frozen=True)
class BuildPlan:
    family: str
    stages: list[PlannedStage]

    @property
    def misses(self) -> list[PlannedStage]:
        return [s for s in self.stages if not s.hit]

    def lines(self) -> list[str]:
        misses = len(self.misses)
        summary = f"{misses} of {len(self.stages)} stages to build" if misses else "nothing to build"
        return [f"build {self.family}: {summary}", *(f"  {s.line()}" for s in self.stages)]


def _planned(store: StageStore, spec: ImageSpec, name: str, inputs: StageInputs, maker: str,
             force: bool) -> PlannedStage:
    key = stage_key(inputs)
    hit = not force and store.lookup(name, key) is not None
    why = "cached" if hit else describe_changes(store.previous_inputs(name), inputs)
    return PlannedStage(spec, name, key, inputs, hit, why, maker)


def plan_build(catalog: Catalog, family: str, *, force: bool = False) -> BuildPlan:
    """The stages of `family` and its parents, root first, each with its key and cache state."""
    stages: list[PlannedStage] = []
    parent_key: str | None = None  # the final stage of the previous image of the lineage
    base = catalog.base(family)
    distribution, suite = base.distribution or "debian", base.suite or ""
    for spec in catalog.lineage(family):
        store = StageStore(spec.family)
        if spec.dockerfile:
            assert parent_key is not None  # the lineage holds the Dockerfile's FROM image
            inputs = dockerfile_inputs(spec, parent_key)
            stages.append(_planned(store, spec, DOCKERFILE, inputs, "buildah", force))
        elif parent_key is None:
            backend = backend_for(distribution)
            stages.append(_planned(store, spec, BOOTSTRAP, backend.inputs(spec), backend.name, force))
        base_key = stages[-1].key if stages and stages[-1].family == spec.family else parent_key
        assert base_key is not None
        inputs = customize_inputs(spec, base_key, distribution, suite)
        stages.append(_planned(store, spec, CUSTOMIZE, inputs, CUSTOMIZE, force))
        parent_key = stages[-1].key
    return BuildPlan(family, stages)
