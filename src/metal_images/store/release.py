"""`release`: promote stable sets to `metal-os/<YYYYMMDD>/` by server-side copy; describe them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import yaml

from metal_images import ui
from metal_images.artifact.registry import IMAGE, MD5, PACKAGES, publish_order
from metal_images.catalog import ImageSpec, load_catalog
from metal_images.errors import ConfigError, MetalImagesError
from metal_images.identity import STABLE, Channel, ImageRef
from metal_images.store.backend import Backend
from metal_images.store.listing import StoredSet, list_sets
from metal_images.store.plan import FileFacts, FileState, TransferPlan, compare, plan_transfer
from metal_images.store.transfer import execute


def select_sets(
    stable: list[StoredSet], wanted: list[str], families: dict[str, tuple[str, str]]
) -> list[StoredSet]:
    """Pure: the complete stable sets named by `wanted` (all complete ones if empty).

    A name is `<os>`, `<os>/<version>` or a catalog family (`families`: family -> os, version).
    Naming an incomplete or absent image is an error; unnamed incomplete sets are skipped.
    """
    if not wanted:
        return [s for s in stable if s.complete]
    chosen: list[StoredSet] = []
    for name in wanted:
        os_name, _, version = name.partition("/")
        if not version and name in families:
            os_name, version = families[name]
        matches = [s for s in stable if s.ref.os == os_name and (not version or s.ref.version == version)]
        if not matches:
            raise ConfigError(f"release: '{name}' is not in {STABLE}/ of the store")
        for s in matches:
            if not s.complete:
                raise ConfigError(f"release: {s.ref.short} is incomplete (missing {', '.join(s.missing)})")
            if s not in chosen:
                chosen.append(s)
    return chosen


def _copy_state(backend: Backend, source: StoredSet, dest: ImageRef, name: str) -> FileState:
    """Is `name` at `dest` already what stable holds? Recorded checksums first, reads last."""
    src = backend.stat(source.files[name].key) or source.files[name]
    info = backend.stat(dest.key(name))
    if info is None:
        return "absent"
    quick = compare(FileFacts(src.size, src.sha256, src.md5), FileFacts(info.size, info.sha256, info.md5))
    if quick == "same" or src.size != info.size:
        return quick
    if name != IMAGE:  # a small sidecar: compare the bytes
        return "same" if backend.read_bytes(src.key) == backend.read_bytes(info.key) else "different"
    if backend.stat(dest.key(MD5)) is not None:  # the image is what its complete set's .md5 says
        same = backend.read_bytes(source.ref.key(MD5)) == backend.read_bytes(dest.key(MD5))
        return "same" if same else "different"
    src_sha = backend.sha256(src.key)  # a half-done release: hash (file store) or give up (None)
    return "same" if src_sha and src_sha == backend.sha256(info.key) else "different"


def plan_release(backend: Backend, sets: list[StoredSet], date: str, *, force: bool) -> list[TransferPlan]:
    channel = Channel.parse(date)
    if not channel.is_release:
        raise ConfigError(f"release date '{date}': expected YYYYMMDD")
    plans = []
    for s in sets:
        dest = s.ref.in_channel(channel)
        artifacts = [name for name in publish_order() if name in s.files]  # nothing foreign is copied
        states = {name: _copy_state(backend, s, dest, name) for name in artifacts}
        present = [o.key.rsplit("/", 1)[1] for o in backend.list(dest.prefix)]
        sizes = {name: s.files[name].size for name in artifacts}
        plans.append(plan_transfer(dest, sizes, states, present, op="copy", force=force, source=s.ref.short))
    return plans


def run_release(backend: Backend, sets: list[StoredSet], plans: list[TransferPlan]) -> None:
    for s, plan in zip(sets, plans, strict=True):
        with ui.step(f"release {s.ref.short} -> {plan.dest.short}"):
            execute(backend, plan, copy_from={name: info.key for name, info in s.files.items()})


def catalog_families() -> dict[str, ImageSpec]:
    """Catalog specs by family; an unreadable catalog only costs the defaults."""
    try:
        catalog = load_catalog()
        return {family: catalog.get(family) for family in catalog.families()}
    except MetalImagesError as exc:
        ui.warn(f"catalog not used for release metadata: {exc.message}")
        return {}


@dataclass(frozen=True)
class ReleasedImage:
    ref: ImageRef
    date: str
    features: list[str]
    classification: str
    description: str


def describe(refs: list[ImageRef], date: str, specs: dict[str, ImageSpec]) -> list[ReleasedImage]:
    """Features/classification from the catalog where the image is known, else defaults."""
    by_os_version = {(s.name, s.version): s for s in specs.values()}
    out = []
    for ref in refs:
        spec = by_os_version.get((ref.os, ref.version))
        if spec:
            out.append(
                ReleasedImage(
                    ref,
                    date,
                    list(spec.features),
                    "supported" if spec.supported else "preview",
                    spec.description,
                )
            )
        else:
            features = ["firewall"] if ref.os.startswith("firewall") else ["machine"]
            out.append(ReleasedImage(ref, date, features, "preview", ""))
    return out


# what may stand in a markdown link target unescaped; anything else in a base URL is refused
_LINK_URL = re.compile(r"^https?://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+$")


def check_base_url(url: str) -> str:
    """The download base of the release notes and the metal-api entries: http(s), and no
    character that could break out of a markdown link or a YAML scalar."""
    if not _LINK_URL.match(url):
        raise ConfigError(f"base URL '{url}' (--base-url or $METAL_IMAGES_BASE_URL): expected an "
                          "http(s) URL without spaces, quotes, brackets or '|'")
    return url.rstrip("/") + "/"


def downloads_table(images: list[ReleasedImage], base_url: str) -> str:
    """Upstream's release-note table (what its release workflow appends to the release body):
    `## Downloads`, then IMAGE | URL | CHECKSUM | PACKAGES with one row per image, sorted by
    URL; IMAGE is the store folder (`metal-os/<date>/<os>/<version>`), the others are links
    named after the file."""
    def link(ref: ImageRef, name: str) -> str:
        return f"[{name}]({base_url}{ref.key(name)})"

    rows = sorted((base_url + i.ref.key(IMAGE), i.ref) for i in images)
    lines = ["## Downloads", "", "| IMAGE | URL | CHECKSUM | PACKAGES |", "|---|---|---|---|"]
    for _, ref in rows:
        folder = ref.prefix.rstrip("/")
        lines.append(f"| {folder} | {link(ref, IMAGE)} | {link(ref, MD5)} | {link(ref, PACKAGES)} |")
    return "\n".join(lines) + "\n"


def api_entries(images: list[ReleasedImage], base_url: str, expiration: dt.date | None) -> str:
    """metal-api image entities as YAML (a list, as `metalctl image apply` / the deploy roles take)."""
    entries = []
    for image in images:
        entry: dict[str, object] = {
            "id": image.ref.api_identity(image.date).id,
            "name": image.ref.display_name(image.date),
            "url": base_url + image.ref.key(IMAGE),
            "features": image.features,
            "classification": image.classification,
        }
        if image.description:
            entry["description"] = image.description
        if expiration:
            entry["expirationDate"] = f"{expiration.isoformat()}T00:00:00Z"
        entries.append(entry)
    return yaml.safe_dump(entries, sort_keys=False)


def stable_sets(backend: Backend) -> list[StoredSet]:
    return list_sets(backend, Channel.stable())
