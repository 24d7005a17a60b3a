"""`publish`: upload one exported artifact set to `metal-os/<channel>/<os>/<version>/`."""

from __future__ import annotations

from pathlib import Path

from metal_images import paths
from metal_images.artifact.registry import publish_order
from metal_images.catalog import load_catalog
from metal_images.errors import ConfigError
from metal_images.identity import Channel, ImageRef
from metal_images.store.backend import Backend, ObjectInfo
from metal_images.store.local_set import LocalSet
from metal_images.store.plan import FileFacts, FileState, TransferPlan, compare, plan_transfer
from metal_images.store.transfer import execute


def resolve_source(name_or_dir: str, channel: Channel) -> Path:
    """An artifact directory as given, or a catalog family's export folder for `channel`."""
    given = Path(name_or_dir)
    if given.is_dir():
        return given
    if "/" in name_or_dir:
        raise ConfigError(f"{name_or_dir}: no such artifact directory")
    spec = load_catalog().get(name_or_dir)
    candidates = [paths.output_dir() / channel.path / spec.name / spec.version]
    if channel.kind == "pull_request":  # upstream's export writes images/<pr>-<branch>/
        candidates.append(paths.output_dir() / channel.path.split("/", 1)[1] / spec.name / spec.version)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise ConfigError(
        f"image '{name_or_dir}': no export for channel {channel} at {candidates[0]} (run export)"
    )


def remote_facts(backend: Backend, key: str, info: ObjectInfo, expected_size: int) -> FileFacts:
    """What the store knows about an object; hashes it only when the size already matches."""
    sha, md5 = info.sha256, info.md5
    if sha is None and md5 is None and info.size == expected_size:
        sha = backend.sha256(key)
    return FileFacts(info.size, sha, md5)


def dest_state(
    backend: Backend, dest: ImageRef, source: dict[str, FileFacts]
) -> tuple[dict[str, FileState], list[str]]:
    """Compare the source set with what `dest` holds: states per file, names present."""
    states: dict[str, FileState] = {}
    present: list[str] = []
    for name in publish_order():
        info = backend.stat(dest.key(name))
        if info is not None:
            present.append(name)
        if name in source:
            remote = remote_facts(backend, dest.key(name), info, source[name].size) if info else None
            states[name] = compare(source[name], remote)
    return states, present


def plan_publish(backend: Backend, local: LocalSet, channel: Channel, *, force: bool) -> TransferPlan:
    dest = ImageRef.make(channel, local.os, local.version)
    facts = {name: f.facts for name, f in local.files.items()}
    states, present = dest_state(backend, dest, facts)
    sizes = {name: f.size for name, f in facts.items()}
    return plan_transfer(dest, sizes, states, present, op="upload", force=force, source=str(local.directory))


def publish(backend: Backend, local: LocalSet, plan: TransferPlan) -> None:
    execute(
        backend,
        plan,
        sources={name: f.path for name, f in local.files.items()},
        facts={name: f.facts for name, f in local.files.items()},
    )
