"""The store page for people: one HTML table of every image (or one channel's), made from
the store on request, readable without JavaScript.

Each row: os, version, channel, image size, date, md5 and sha256 (from the sidecars), the
package count with a link to packages.txt, the SBOM link, and the package diff to the
previous dated release of the same os/version (a <details> element, no script). Everything
read from the store is HTML-escaped: names, versions and sidecar text are untrusted.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from urllib.parse import quote

from metal_images.artifact.registry import IMAGE, MD5, PACKAGES, SBOM, SHA256
from metal_images.errors import MetalImagesError
from metal_images.identity import PULL_REQUESTS, STORE_ROOT, Channel, ImageRef
from metal_images.sizes import format_size
from metal_images.store.backend import Backend
from metal_images.store.listing import StoredSet, list_sets
from metal_images.store.packages import PackageDiff, diff_packages, parse_packages

_HEX = {MD5: re.compile(r"^[0-9a-f]{32}$"), SHA256: re.compile(r"^[0-9a-f]{64}$")}
MAX_SIDECAR = 4096  # a checksum line; anything bigger is not read


def page_for_path(path: str) -> tuple[bool, Channel | None]:
    """Is the request path a store page, and of which channel: `/` and `/metal-os/` are the
    page of every channel (None), `/metal-os/<channel>/` that channel's; others are no page."""
    parts = [p for p in path.split("/") if p]
    if not parts or parts == [STORE_ROOT]:
        return True, None
    nested_ok = len(parts) == 2 or (len(parts) == 3 and parts[1] == PULL_REQUESTS)
    if parts[0] != STORE_ROOT or not nested_ok:
        return False, None
    try:
        return True, Channel.parse("/".join(parts[1:]))
    except MetalImagesError:
        return False, None


@dataclass(frozen=True)
class Row:
    stored: StoredSet
    md5: str
    sha256: str
    packages: dict[str, str] | None
    previous: ImageRef | None
    diff: PackageDiff | None


def _checksum(backend: Backend, stored: StoredSet, name: str) -> str:
    info = stored.files.get(name)
    if info is None or info.size > MAX_SIDECAR:
        return ""
    words = backend.read_bytes(info.key).decode("ascii", "replace").split()
    return words[0] if words and _HEX[name].match(words[0]) else "invalid"


def _packages(backend: Backend, stored: StoredSet) -> dict[str, str] | None:
    info = stored.files.get(PACKAGES)
    if info is None:
        return None
    return parse_packages(backend.read_bytes(info.key).decode("utf-8", errors="replace"))


def _previous_release(stored: StoredSet, every: list[StoredSet]) -> StoredSet | None:
    """The newest dated release of the same os/version before this one (for stable and pull
    requests: the newest dated release)."""
    ref = stored.ref
    older = [s for s in every if s.ref.os == ref.os and s.ref.version == ref.version
             and s.ref.channel.is_release and PACKAGES in s.files
             and (not ref.channel.is_release or s.ref.channel.path < ref.channel.path)]
    return max(older, key=lambda s: s.ref.channel.path, default=None)


def collect(backend: Backend, channel: Channel | None) -> list[Row]:
    every = list_sets(backend)
    shown = [s for s in every if channel is None or s.ref.channel == channel]
    parsed: dict[ImageRef, dict[str, str] | None] = {}

    def packages(stored: StoredSet) -> dict[str, str] | None:
        if stored.ref not in parsed:
            parsed[stored.ref] = _packages(backend, stored)
        return parsed[stored.ref]

    rows = []
    for stored in shown:
        mine = packages(stored)
        previous = _previous_release(stored, every)
        theirs = packages(previous) if previous else None
        diff = diff_packages(theirs, mine) if mine and theirs else None
        rows.append(Row(stored, _checksum(backend, stored, MD5), _checksum(backend, stored, SHA256), mine,
                        previous.ref if previous else None, diff))
    return rows


# --- HTML ---------------------------------------------------------------------------------

def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _href(ref: ImageRef, name: str) -> str:
    return _e("/" + quote(ref.key(name)))


def _date(stored: StoredSet) -> str:
    if stored.ref.channel.is_release:
        day = dt.datetime.strptime(stored.ref.channel.path, "%Y%m%d").date()
        return day.isoformat()
    return stored.modified.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if stored.modified else ""


def _digest(value: str) -> str:
    return f"<code>{_e(value)}</code>" if value else "&mdash;"


def _diff_cell(row: Row) -> str:
    if row.previous is None or row.diff is None:
        return "&mdash;"
    diff = row.diff
    summary = (f"vs {_e(row.previous.channel.path)}: +{len(diff.added)} &minus;{len(diff.removed)} "
               f"~{len(diff.changed)}")
    if diff.empty:
        return f"vs {_e(row.previous.channel.path)}: no change"
    items = [f"<li>kernel {_e(diff.kernel[0] or '(none)')} &rarr; {_e(diff.kernel[1] or '(none)')}</li>"
             ] if diff.kernel else []
    items += [f'<li class="added">+ {_e(n)} {_e(v)}</li>' for n, v in diff.added.items()]
    items += [f'<li class="removed">&minus; {_e(n)} {_e(v)}</li>' for n, v in diff.removed.items()]
    items += [f'<li class="changed">~ {_e(n)} {_e(old)} &rarr; {_e(new)}</li>'
              for n, (old, new) in diff.changed.items()]
    return f"<details><summary>{summary}</summary><ul>{''.join(items)}</ul></details>"


def _row(row: Row) -> str:
    stored, ref = row.stored, row.stored.ref
    image = (f'<a href="{_href(ref, IMAGE)}">{format_size(stored.image_size)}</a>' if IMAGE in stored.files
             else "missing")
    if not stored.complete:
        image += ' <strong class="incomplete">INCOMPLETE</strong>'
    packages = (f'<a href="{_href(ref, PACKAGES)}">{len(row.packages)}</a>' if row.packages is not None
                else "&mdash;")
    sbom = f'<a href="{_href(ref, SBOM)}">SBOM</a>' if SBOM in stored.files else "&mdash;"
    cells = [_e(ref.os), _e(ref.version), _e(ref.channel.path), image, _e(_date(stored)),
             _digest(row.md5), _digest(row.sha256), packages, sbom, _diff_cell(row)]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


_STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}"
          "code{font-size:.8em;word-break:break-all}.incomplete{color:#b00}")
COLUMNS = ("OS", "Version", "Channel", "Image", "Date", "MD5", "SHA256", "Packages", "SBOM",
           "Changes since the previous release")


def render(rows: list[Row], title: str) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in COLUMNS)
    body = "".join(_row(r) for r in rows) or f'<tr><td colspan="{len(COLUMNS)}">no images</td></tr>'
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{_e(title)}</h1>"
            f'<p><a href="/">all channels</a> &middot; <a href="?index">files</a></p>'
            f'<table id="images"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            "</body></html>\n")


def store_page(backend: Backend, channel: Channel | None, title: str = "metal-images store") -> str:
    rows = collect(backend, channel)
    return render(rows, f"{title}: {channel.path}" if channel else title)
