"""build/<family>/build-state.json: what the last successful build of an image was.

The one model of it: the builder writes it, export reads it (build.json, the default
SOURCE_DATE_EPOCH), the tests read it to see which stages a build reused.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from metal_images import paths
from metal_images.errors import MetalImagesError
from metal_images.files import atomic_write

STATE_FILE = "build-state.json"


@dataclass
class BuildState:
    """The builder writes every field; a file from an older (or a hand-made) build may lack
    some, and reads with their defaults."""

    family: str
    name: str = ""
    version: str = ""
    parent: str | None = None
    stages: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)
    built_at: str = ""
    rootfs: str = ""
    durations: dict[str, float] = field(default_factory=dict)


def state_path(family: str) -> Path:
    return paths.image_work_dir(family) / STATE_FILE


def write_state(state: BuildState) -> Path:
    return atomic_write(state_path(state.family), json.dumps(asdict(state), indent=2, sort_keys=True) + "\n")


def load_state(family: str) -> BuildState | None:
    """The state of the last build of `family`, None if it was never built here."""
    path = state_path(family)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        known = {f.name for f in fields(BuildState)}
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        return BuildState(**{"family": family, **{k: v for k, v in data.items() if k in known}})
    except (OSError, ValueError, TypeError) as exc:
        raise MetalImagesError(f"{path}: cannot read the build state: {exc}") from exc


def read_state(family: str) -> BuildState:
    state = load_state(family)
    if state is None:
        path = state_path(family)
        raise MetalImagesError(f"{family} is not built yet (no {path}); run `metal-images build {family}`")
    return state
