"""What a sync round does, as a pure function of its inputs (no I/O, no clock).

Two steps, both pure:
1. `select_images`: upstream's `DetermineImageSyncList` -- which of the metal-api's images
   belong in the cache (excludes, expiry with grace, key and `.md5` in the store, group by
   os and major.minor, newest first, at most N per name) and the size limit, done the way
   the flag help describes it (upstream's loop condition is inverted, contract 10.2).
2. `plan_files`: diff the wanted files against the cache index -> keep / download / delete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import unquote, urlparse

from metal_images.cachesync.entities import ImageEntity
from metal_images.identity import ApiVersion, parse_api_id


class Action(StrEnum):
    KEEP = "keep"
    DOWNLOAD = "download"
    DELETE = "delete"


@dataclass(frozen=True)
class SelectionRules:
    excludes: tuple[str, ...] = ("/pull_requests/",)
    grace_days: int = 0
    min_per_name: int = 3
    max_per_name: int = -1  # <= 0: unlimited
    max_cache_size: int = 10 << 30


@dataclass(frozen=True)
class WantedFile:
    """A file that belongs in a cache: where it goes (`subpath`) and where it comes from."""

    id: str
    subpath: str
    size: int
    url: str
    has_md5: bool = True


@dataclass(frozen=True)
class CachedFile:
    """A file found in the cache; `md5` is its verified sum from the sidecar, if any."""

    subpath: str
    size: int
    md5: str | None


@dataclass(frozen=True)
class Skipped:
    id: str
    reason: str


@dataclass(frozen=True)
class PlanItem:
    id: str
    subpath: str
    size: int
    action: Action
    url: str = ""


@dataclass
class Selection:
    wanted: list[WantedFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    over_limit: bool = False  # the minimum per name alone exceeds the size limit

    @property
    def total_size(self) -> int:
        return sum(w.size for w in self.wanted)


@dataclass
class Plan:
    items: list[PlanItem]
    skipped: list[Skipped] = field(default_factory=list)
    over_limit: bool = False

    def with_action(self, action: Action) -> list[PlanItem]:
        return [i for i in self.items if i.action is action]

    @property
    def total_size(self) -> int:
        """Size of the cache once the plan is carried out."""
        return sum(i.size for i in self.items if i.action is not Action.DELETE)

    @property
    def download_size(self) -> int:
        return sum(i.size for i in self.with_action(Action.DOWNLOAD))


@dataclass
class _Candidate:
    entity: ImageEntity
    version: ApiVersion
    key: str
    size: int


def is_expired(entity: ImageEntity, now: datetime, grace_days: int) -> bool:
    if entity.expiration_date is None:
        return False
    expires = entity.expiration_date
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return now - expires > timedelta(days=grace_days)


def select_images(
    entities: Iterable[ImageEntity],
    listing: Mapping[str, int],
    now: datetime,
    rules: SelectionRules,
) -> Selection:
    """The images to cache. `listing` maps every store key (including `.md5` keys) to its size."""
    selection = Selection()
    groups: dict[str, list[_Candidate]] = {}
    seen_keys: set[str] = set()
    for entity in entities:
        reason = _skip_reason(entity, listing, now, rules, seen_keys)
        if reason:
            selection.skipped.append(Skipped(entity.id, reason))
            continue
        os_name, version = parse_api_id(entity.id)
        key = entity.store_key
        seen_keys.add(key)
        group = groups.setdefault(f"{os_name}-{version.major_minor}", [])
        group.append(_Candidate(entity, version, key, listing[key]))

    for group in groups.values():
        group.sort(key=lambda c: c.version, reverse=True)
        if rules.max_per_name > 0:
            for dropped in group[rules.max_per_name:]:
                reason = f"more than {rules.max_per_name} per name"
                selection.skipped.append(Skipped(dropped.entity.id, reason))
            del group[rules.max_per_name:]

    selection.over_limit = _fit_size_limit(groups, rules, selection.skipped)

    for name in sorted(groups):
        for c in sorted(groups[name], key=lambda c: c.version):
            selection.wanted.append(WantedFile(c.entity.id, c.key, c.size, c.entity.url, has_md5=True))
    return selection


def _skip_reason(
    entity: ImageEntity, listing: Mapping[str, int], now: datetime, rules: SelectionRules, seen: set[str]
) -> str:
    for exclude in rules.excludes:
        if exclude and exclude in entity.url:
            return f"excluded ({exclude!r} in url)"
    if is_expired(entity, now, rules.grace_days):
        return f"expired on {entity.expiration_date} (grace {rules.grace_days} days)"
    try:
        parse_api_id(entity.id)
    except ValueError as exc:
        return f"no os and version in id: {exc}"
    key = entity.store_key
    if not key:
        return f"url {entity.url!r} has no path"
    unsafe = unsafe_path_reason(entity.url)
    if unsafe:
        return unsafe
    if key in seen:
        return f"same url as an earlier image ({key})"
    if key not in listing:
        return f"not in the store: {key}"
    if key + ".md5" not in listing:
        return f"no checksum in the store: {key}.md5"
    return ""


def _fit_size_limit(
    groups: dict[str, list[_Candidate]], rules: SelectionRules, skipped: list[Skipped]
) -> bool:
    """While over the limit, drop the oldest image of the largest group above the minimum.

    Largest = most images, then most bytes, then name (so the result is deterministic).
    Returns True when the limit could not be reached because every group is at its minimum.
    """
    total = sum(c.size for g in groups.values() for c in g)
    while total > rules.max_cache_size:
        shrinkable = [name for name, g in groups.items() if len(g) > rules.min_per_name]
        if not shrinkable:
            return True
        name = max(shrinkable, key=lambda n: (len(groups[n]), sum(c.size for c in groups[n]), n))
        oldest = groups[name].pop()
        total -= oldest.size
        skipped.append(Skipped(oldest.entity.id, "cache size limit"))
    return False


def plan_files(
    wanted: Sequence[WantedFile],
    index: Mapping[str, CachedFile],
    remote_md5: Mapping[str, str],
) -> list[PlanItem]:
    """Diff wanted files against the cache index (upstream `Syncer.Sync` step 2).

    Present and verified (its size equals the store's, and its sidecar md5 equals the
    store's or the store has no md5 for it, like kernels) -> keep; missing, unverified, of
    another size or changed -> download; cached but not wanted -> delete. A size of 0 means
    the store did not say (a HEAD without Content-Length).
    """
    items: list[PlanItem] = []
    wanted_paths = set()
    for w in wanted:
        wanted_paths.add(w.subpath)
        cached = index.get(w.subpath)
        action = Action.DOWNLOAD
        if cached is not None and (not w.size or cached.size == w.size):
            if not w.has_md5:
                action = Action.KEEP
            elif cached.md5 is not None:
                remote = remote_md5.get(w.subpath)
                action = Action.KEEP if remote is None or remote == cached.md5 else Action.DOWNLOAD
        items.append(PlanItem(w.id, w.subpath, w.size, action, w.url))
    for subpath in sorted(set(index) - wanted_paths):
        items.append(PlanItem("-", subpath, index[subpath].size, Action.DELETE))
    return items


def plan_images(
    entities: Iterable[ImageEntity],
    listing: Mapping[str, int],
    index: Mapping[str, CachedFile],
    remote_md5: Mapping[str, str],
    now: datetime,
    rules: SelectionRules,
) -> Plan:
    """The whole plan for the OS image cache."""
    selection = select_images(entities, listing, now, rules)
    return Plan(plan_files(selection.wanted, index, remote_md5), selection.skipped, selection.over_limit)


def url_subpath(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def unsafe_path_reason(url: str) -> str:
    """Why the path of `url` cannot be a file below a cache root, or "" when it can.

    The path becomes a relative file name, so every segment (also once percent-decoded,
    as an HTTP server would read it) must be a plain name: no `..` or `.`, no empty
    segment (`//`), no `/` or backslash hidden as `%2f`/`%5c`, no control characters.
    """
    path = urlparse(url).path
    segments = path[1:].split("/") if path.startswith("/") else path.split("/")
    for segment in segments:
        decoded = unquote(segment)
        if decoded in ("", ".", ".."):
            return f"unsafe url path {path!r}: empty, '.' or '..' segment"
        if "/" in decoded or "\\" in decoded:
            return f"unsafe url path {path!r}: a slash or backslash inside a segment"
        if not decoded.isprintable():
            return f"unsafe url path {path!r}: control characters"
    return ""


def wanted_from_urls(urls: Iterable[str], sizes: Mapping[str, int], excludes: Sequence[str],
                     *, need_md5: bool, md5_present: Iterable[str] = ()) -> Selection:
    """Kernels and boot images: dedupe, drop excluded, keep what the server reported a size for.

    `sizes` maps URL -> Content-Length of the HEAD request; boot images (`need_md5`) also
    need their `<url>.md5` in `md5_present`.
    """
    selection = Selection()
    with_md5 = set(md5_present)
    seen: set[str] = set()
    for url in urls:
        if url in seen:
            continue
        seen.add(url)
        subpath = url_subpath(url)
        if any(e and e in url for e in excludes):
            selection.skipped.append(Skipped(url, "excluded"))
        elif not subpath:
            selection.skipped.append(Skipped(url, "url has no path"))
        elif unsafe_path_reason(url):
            selection.skipped.append(Skipped(url, unsafe_path_reason(url)))
        elif url not in sizes:
            selection.skipped.append(Skipped(url, "not reachable (HEAD failed)"))
        elif need_md5 and url not in with_md5:
            selection.skipped.append(Skipped(url, f"no checksum: {url}.md5"))
        else:
            selection.wanted.append(WantedFile(subpath, subpath, sizes[url], url, has_md5=need_md5))
    return selection
