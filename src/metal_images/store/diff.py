"""`store diff A B`: the package diff of two published images, from their packages.txt."""

from __future__ import annotations

from metal_images.artifact.registry import PACKAGES
from metal_images.errors import MetalImagesError
from metal_images.identity import ImageRef
from metal_images.store.backend import Backend
from metal_images.store.packages import PackageDiff, diff_packages, parse_packages


def read_packages(backend: Backend, ref: ImageRef) -> dict[str, str]:
    key = ref.key(PACKAGES)
    if backend.stat(key) is None:
        raise MetalImagesError(f"{backend.url}/{key}: no {PACKAGES} (is {ref.short} published?)")
    packages = parse_packages(backend.read_bytes(key).decode("utf-8", errors="replace"))
    if not packages:
        raise MetalImagesError(f"{backend.url}/{key}: no packages found (expected dpkg -l or rpm -qa output)")
    return packages


def diff_images(backend: Backend, a: ImageRef, b: ImageRef) -> PackageDiff:
    return diff_packages(read_packages(backend, a), read_packages(backend, b))


def format_diff(a: ImageRef, b: ImageRef, diff: PackageDiff) -> str:
    """Markdown-ish text, ready for a release note."""
    lines = [f"# {a.short} -> {b.short}", ""]
    if diff.kernel:
        lines += [f"kernel: {diff.kernel[0] or '(none)'} -> {diff.kernel[1] or '(none)'}", ""]
    else:
        lines += ["kernel: unchanged", ""]
    for title, items in (("added", diff.added), ("removed", diff.removed)):
        lines.append(f"## {title} ({len(items)})")
        lines += [f"- {name} {version}" for name, version in items.items()]
        lines.append("")
    lines.append(f"## changed ({len(diff.changed)})")
    lines += [f"- {name} {old} -> {new}" for name, (old, new) in diff.changed.items()]
    return "\n".join(lines).rstrip() + "\n"
