"""Extra archive components for a derived Debian/Ubuntu image (`components:` in its image.yaml).

A derived image installs its packages from the archive its parent was bootstrapped from; it
never names a host itself. When it needs components its parent does not enable (the Nvidia
image needs `non-free`), each archive entry of the parent tree is repeated with just those
components in one file of our own, so the parent's URIs, suites and signing keys stay the
only source of truth. Both apt formats are read: one-line `sources.list` entries and deb822
`.sources` stanzas.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from metal_images.errors import MetalImagesError

EXTRA_SOURCES = "etc/apt/sources.list.d/metal-extra-components.sources"
COMPONENT = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class ArchiveEntry:
    """One archive a tree's apt reads: the URIs and suites of one entry, and its key."""

    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str | None


def _one_line_entries(text: str) -> list[ArchiveEntry]:
    entries = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        signed_by = None
        if words and words[0].startswith("["):
            options = []
            while words:
                option = words.pop(0)
                options.append(option.strip("[]"))
                if option.endswith("]"):
                    break
            for option in options:
                key, _, value = option.partition("=")
                if key == "signed-by":
                    signed_by = value
        if len(words) >= 2:
            entries.append(ArchiveEntry((words[0],), (words[1],), tuple(words[2:]), signed_by))
    return entries


def _deb822_entries(text: str) -> list[ArchiveEntry]:
    entries = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += "\n" + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
            continue
        signed_by = fields.get("signed-by")
        if signed_by and "\n" in signed_by:
            signed_by = None  # an inline key block: repeated below as a file is not possible
        uris, suites, components = (tuple(fields.get(key, "").split())
                                    for key in ("uris", "suites", "components"))
        entries.append(ArchiveEntry(uris, suites, components, signed_by))
    return entries


def archive_entries(root: Path) -> list[ArchiveEntry]:
    """Every enabled `deb` entry of the tree's apt configuration (ours excluded)."""
    apt = root / "etc/apt"
    entries = []
    main = apt / "sources.list"
    if main.is_file():
        entries += _one_line_entries(main.read_text())
    for path in sorted((apt / "sources.list.d").glob("*")):
        if path.name == Path(EXTRA_SOURCES).name or not path.is_file():
            continue
        if path.suffix == ".list":
            entries += _one_line_entries(path.read_text())
        elif path.suffix == ".sources":
            entries += _deb822_entries(path.read_text())
    return [e for e in entries if e.uris and e.suites]


def render_extra_components(entries: Sequence[ArchiveEntry], wanted: Sequence[str]) -> str:
    """deb822 stanzas: each entry again, with the wanted components it does not already have."""
    stanzas = []
    for entry in entries:
        missing = [c for c in wanted if c not in entry.components]
        if not missing:
            continue
        lines = ["Types: deb", f"URIs: {' '.join(entry.uris)}", f"Suites: {' '.join(entry.suites)}",
                 f"Components: {' '.join(missing)}"]
        if entry.signed_by:
            lines.append(f"Signed-By: {entry.signed_by}")
        stanzas.append("\n".join(lines) + "\n")
    return "\n".join(stanzas)


def add_components(root: Path, wanted: Sequence[str], where: str) -> list[str]:
    """Enable `wanted` on every archive of the tree; returns the components actually added."""
    for component in wanted:
        if not COMPONENT.fullmatch(component):
            raise MetalImagesError(f"{where}: components: {component!r} is not an archive component name")
    entries = archive_entries(root)
    if not entries:
        raise MetalImagesError(f"{where}: components: the parent tree has no apt archive entry to extend")
    text = render_extra_components(entries, wanted)
    target = root / EXTRA_SOURCES
    if not text:
        target.unlink(missing_ok=True)
        return []
    target.write_text(text)
    return sorted({c for e in entries for c in wanted if c not in e.components})
