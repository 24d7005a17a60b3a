"""Carry out a transfer plan against a backend, with byte progress when interactive."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from metal_images import ui
from metal_images.artifact.registry import IMAGE, MD5
from metal_images.errors import MetalImagesError
from metal_images.store.backend import Backend
from metal_images.store.backend import Progress as ProgressFn
from metal_images.store.plan import FileFacts, TransferPlan


@contextmanager
def byte_progress(total: int, label: str) -> Iterator[ProgressFn | None]:
    """A rich progress bar on an interactive terminal; nothing otherwise."""
    progress = ui.transfer_progress() if total > 0 else None
    if progress is None:
        yield None
        return
    with progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def _check_image_is_ours(backend: Backend, plan: TransferPlan, facts: Mapping[str, FileFacts]) -> None:
    """Compare before (and after) complete: the .md5 stays up only if the stored image is
    the one it describes. Another publish of the same set may replace the image meanwhile
    (S3 has no lock); the set then ends incomplete or complete with the other publish's
    image and .md5, never with ours beside its image."""
    key = plan.dest.key(IMAGE)
    ours = facts[IMAGE]
    stored = backend.stat(key)
    stored_sha = (stored.sha256 or backend.sha256(key)) if stored is not None else None
    if stored is None or stored.size != ours.size or (ours.sha256 and stored_sha != ours.sha256):
        raise MetalImagesError(
            f"{backend.url}/{key}: not the image this publish uploaded (another publish of the set "
            f"replaced it?); its .md5 is not written, so the set is not marked complete"
        )


def execute(
    backend: Backend,
    plan: TransferPlan,
    *,
    sources: Mapping[str, Path] | None = None,
    facts: Mapping[str, FileFacts] | None = None,
    copy_from: Mapping[str, str] | None = None,
) -> None:
    """Upload files (`sources` + `facts`) or copy keys (`copy_from`: name -> source key)."""
    with byte_progress(plan.bytes, plan.dest.short) as progress:
        for action in plan.actions:
            if action.op in ("retract", "delete"):
                ui.detail(f"{action.op} {action.key}")
                backend.delete(action.key)
            elif action.op == "upload":
                assert sources is not None and facts is not None
                known = facts[action.name]
                if action.name == MD5:
                    _check_image_is_ours(backend, plan, facts)
                ui.detail(f"upload {action.key} ({action.size} bytes)")
                backend.put_file(
                    action.key,
                    sources[action.name],
                    sha256=known.sha256 or "",
                    md5=known.md5 or "",
                    progress=progress,
                )
                if action.name == MD5:
                    try:  # and after: a publish racing between the check and the upload
                        _check_image_is_ours(backend, plan, facts)
                    except MetalImagesError:
                        backend.delete(action.key)  # incomplete, never ours beside its image
                        raise
            elif action.op == "copy":
                assert copy_from is not None
                ui.detail(f"copy {copy_from[action.name]} -> {action.key}")
                backend.copy(copy_from[action.name], action.key)
                if progress:
                    progress(action.size)
