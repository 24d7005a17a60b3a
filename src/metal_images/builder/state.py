"""build/<family>/build-state.json: what the last successful build of an image was.

Export reads it to write build.json; `shell` and `list` use it to find the built tree.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from metal_images import paths
from metal_images.errors import MetalImagesError
from metal_images.files import atomic_write

STATE_FILE = "build-state.json"


@dataclass
class BuildState:
    family: str
    name: str
    version: str
    parent: str | None
    stages: dict[str, str]
    args: dict[str, str]
    tools: dict[str, str]
    built_at: str
    rootfs: str = ""
    durations: dict[str, float] = field(default_factory=dict)


def state_path(family: str) -> Path:
    return paths.image_work_dir(family) / STATE_FILE


def write_state(state: BuildState) -> Path:
    return atomic_write(state_path(state.family), json.dumps(asdict(state), indent=2, sort_keys=True) + "\n")


def read_state(family: str) -> BuildState:
    path = state_path(family)
    if not path.is_file():
        raise MetalImagesError(f"{family} is not built yet (no {path}); run `metal-images build {family}`")
    data = json.loads(path.read_text())
    return BuildState(**data)
