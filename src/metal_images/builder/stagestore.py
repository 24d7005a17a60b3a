"""Stage directories: one finished tree per stage and image, built in a temp dir first.

Layout below `build/<family>/stages/`:
  <stage>-<key16>/tree          the finished root tree of that stage
  <stage>-<key16>/inputs.json   the inputs that produced it (to explain the next miss)
  .tmp-<stage>-<key16>/         work in progress; renamed when the stage succeeds

A failed stage leaves no stage dir behind; only the newest dir per stage is kept.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from metal_images import paths, runner, ui
from metal_images.builder.stagekey import StageInputs, canonical_json
from metal_images.errors import MetalImagesError

KEY_CHARS = 16


def mounts_below(path: Path) -> list[str]:
    prefix = os.path.realpath(path).rstrip("/") + "/"
    with open("/proc/self/mounts") as mounts:
        targets = [line.split()[1] for line in mounts]
    return [t for t in targets if t.startswith(prefix) or t == prefix.rstrip("/")]


def unmount_below(path: Path) -> None:
    """Detach whatever a killed tool (mmdebstrap, a step) left mounted below `path`."""
    for target in sorted(mounts_below(path), key=len, reverse=True):
        ui.warn(f"unmounting leftover {target}")
        runner.probe(["umount", "--lazy", target])


def remove_tree(path: Path) -> None:
    """Delete a stage tree, never crossing into a mount (a bind-mounted /dev!)."""
    if not path.exists() and not path.is_symlink():
        return
    busy = mounts_below(path)
    if busy:
        raise MetalImagesError(f"refusing to delete {path}: still mounted: {', '.join(busy)}")
    runner.run(["rm", "-rf", "--one-file-system", str(path)])


@dataclass(frozen=True)
class Stage:
    name: str
    key: str
    folder: Path

    @property
    def tree(self) -> Path:
        return self.folder / "tree"


class StageStore:
    def __init__(self, family: str) -> None:
        self.family = family
        self.root = paths.image_work_dir(family) / "stages"

    def _folder(self, stage: str, key: str) -> Path:
        return self.root / f"{stage}-{key[:KEY_CHARS]}"

    def lookup(self, stage: str, key: str) -> Stage | None:
        folder = self._folder(stage, key)
        inputs = folder / "inputs.json"
        if not (folder / "tree").is_dir() or not inputs.is_file():
            return None
        if json.loads(inputs.read_text()).get("key") != key:
            return None  # a 16-character prefix collision: treat as a miss
        return Stage(stage, key, folder)

    def existing(self, stage: str) -> list[Path]:
        if not self.root.is_dir():
            return []
        found = [p for p in self.root.glob(f"{stage}-*") if (p / "inputs.json").is_file()]
        return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)

    def previous_inputs(self, stage: str) -> StageInputs | None:
        for folder in self.existing(stage):
            data: StageInputs = json.loads((folder / "inputs.json").read_text())
            inputs = data.get("inputs")
            if isinstance(inputs, dict):
                return inputs
        return None

    @contextmanager
    def building(self, stage: str, key: str, inputs: StageInputs) -> Iterator[Path]:
        """Yield an empty work dir whose `tree` the caller fills; publish it on success."""
        self.root.mkdir(parents=True, exist_ok=True)
        work = self.root / f".tmp-{stage}-{key[:KEY_CHARS]}"
        remove_tree(work)  # left over from a crashed run
        work.mkdir()
        try:
            yield work / "tree"
            record = {"stage": stage, "key": key, "inputs": inputs}
            (work / "inputs.json").write_text(canonical_json(record) + "\n")
            final = self._folder(stage, key)
            remove_tree(final)
            work.rename(final)
        except BaseException:
            try:
                unmount_below(work)
                remove_tree(work)
            except MetalImagesError as exc:
                ui.warn(str(exc))
            raise
        self.prune(stage, keep=final)

    def prune(self, stage: str, keep: Path) -> None:
        """Disk is precious: drop every other tree of this stage."""
        for folder in self.existing(stage):
            if folder != keep:
                self._discard(folder)

    def _discard(self, folder: Path) -> None:
        """Move an old tree aside at once and delete it in the background.

        Deleting a 1 GB tree takes close to a minute on a busy disk; the build need not
        wait for it. A leftover `.trash-*` (the machine went down) is swept by the next prune.
        """
        busy = mounts_below(folder)
        if busy:
            ui.warn(f"keeping {folder}: still mounted: {', '.join(busy)}")
            return
        trash = self.root / f".trash-{folder.name}-{os.getpid()}"
        folder.rename(trash)
        for leftover in self.root.glob(".trash-*"):
            runner.detach(["rm", "-rf", "--one-file-system", str(leftover)])
