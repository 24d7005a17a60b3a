"""Table-driven tests of the pure cache-sync planner: one case per upstream rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from metal_images.cachesync.entities import ImageEntity
from metal_images.cachesync.planner import (
    Action,
    CachedFile,
    SelectionRules,
    WantedFile,
    plan_files,
    plan_images,
    select_images,
    wanted_from_urls,
)

NOW = datetime(2024, 6, 1, tzinfo=UTC)
MB = 1 << 20


def image(image_id: str, path: str | None = None, expires: datetime | None = None) -> ImageEntity:
    os_name, _, version = image_id.rpartition("-")
    path = path or f"metal-os/{version.rsplit('.', 1)[-1]}/{os_name}/{version}/img.tar.lz4"
    return ImageEntity(id=image_id, url=f"http://images.metal-stack.io/{path}", expirationDate=expires)


def listing_for(entities: list[ImageEntity], size: int = MB, md5: bool = True) -> dict[str, int]:
    found: dict[str, int] = {}
    for e in entities:
        found[e.store_key] = size
        if md5:
            found[e.store_key + ".md5"] = 45
    return found


def selected_ids(entities: list[ImageEntity], listing: dict[str, int], **rules: object) -> list[str]:
    selection = select_images(entities, listing, NOW, SelectionRules(**rules))  # type: ignore[arg-type]
    return [w.id for w in selection.wanted]


DEB = [image(f"debian-12.0.2024010{d}") for d in range(1, 6)]
UBU = [image(f"ubuntu-24.04.2024010{d}") for d in range(1, 4)]

RULE_CASES = [
    pytest.param([image("debian-12.0.20240101", "metal-os/pull_requests/12-x/debian/12/img.tar.lz4"),
                  image("debian-12.0.20240102")], {}, ["debian-12.0.20240102"], id="exclude-substring"),
    pytest.param([image("debian-12.0.20240101", "metal-os/pull_requests/12-x/debian/12/img.tar.lz4")],
                 {"excludes": ()}, ["debian-12.0.20240101"], id="no-excludes"),
    pytest.param([image("debian-12.0.20240101", expires=NOW - timedelta(days=3)),
                  image("debian-12.0.20240102", expires=NOW + timedelta(days=3)),
                  image("debian-12.0.20240103")], {}, ["debian-12.0.20240102", "debian-12.0.20240103"],
                 id="expired-without-grace"),
    pytest.param([image("debian-12.0.20240101", expires=NOW - timedelta(days=3))],
                 {"grace_days": 5}, ["debian-12.0.20240101"], id="expired-within-grace"),
    pytest.param([image("debian-12.0.20240101", expires=NOW - timedelta(days=6))],
                 {"grace_days": 5}, [], id="expired-beyond-grace"),
    pytest.param([image("debian-latest", "metal-os/stable/debian/12/img.tar.lz4")], {}, [],
                 id="id-without-semver"),
    pytest.param(DEB, {"max_per_name": 2}, ["debian-12.0.20240104", "debian-12.0.20240105"],
                 id="max-per-name-keeps-newest"),
    pytest.param(DEB, {"max_per_name": -1}, [e.id for e in DEB], id="max-per-name-unlimited"),
    pytest.param(DEB + UBU, {"max_per_name": 1}, ["debian-12.0.20240105", "ubuntu-24.04.20240103"],
                 id="max-per-name-per-group"),
    pytest.param([image("debian-12.0.20240101"), image("debian-12.1.20240101"),
                  image("debian-11.0.20240101")], {"max_per_name": 1},
                 ["debian-11.0.20240101", "debian-12.0.20240101", "debian-12.1.20240101"],
                 id="grouped-by-major-minor"),
    pytest.param([image("firewall-ubuntu-3.0.20240101"), image("firewall-ubuntu-3.0.20240201")],
                 {"max_per_name": 1}, ["firewall-ubuntu-3.0.20240201"], id="os-with-dashes"),
    pytest.param([image("ubuntu-19.04.20190101"), image("ubuntu-19.4.20190201")],
                 {"max_per_name": 1}, ["ubuntu-19.4.20190201"], id="leading-zero-same-group"),
]


@pytest.mark.parametrize(("entities", "rules", "expected"), RULE_CASES)
def test_selection_rules(entities: list[ImageEntity], rules: dict[str, object], expected: list[str]) -> None:
    assert selected_ids(entities, listing_for(entities), **rules) == expected


@pytest.mark.parametrize(("drop_key", "drop_md5", "reason"), [
    (True, False, "not in the store"),
    (False, True, "no checksum in the store"),
])
def test_store_must_hold_key_and_md5(drop_key: bool, drop_md5: bool, reason: str) -> None:
    entities = [image("debian-12.0.20240101"), image("debian-12.0.20240102")]
    listing = listing_for(entities)
    victim = entities[0].store_key
    if drop_key:
        del listing[victim]
    if drop_md5:
        del listing[victim + ".md5"]
    selection = select_images(entities, listing, NOW, SelectionRules())
    assert [w.id for w in selection.wanted] == ["debian-12.0.20240102"]
    assert selection.skipped[0].id == "debian-12.0.20240101"
    assert reason in selection.skipped[0].reason


def test_same_url_twice_is_cached_once() -> None:
    entities = [image("debian-12.0.20240101"), image("debian-12.0.20240102", DEB[0].store_key)]
    assert selected_ids(entities, listing_for(entities)) == ["debian-12.0.20240101"]


def test_wanted_sorted_by_name_then_version_with_sizes() -> None:
    entities = [UBU[0], DEB[2], DEB[0], UBU[2]]
    selection = select_images(entities, listing_for(entities, size=7), NOW, SelectionRules())
    assert [w.id for w in selection.wanted] == [DEB[0].id, DEB[2].id, UBU[0].id, UBU[2].id]
    assert selection.total_size == 28


SIZE_CASES = [
    # (debian count, ubuntu count, min per name, limit in MB) -> kept per group
    pytest.param(5, 3, 1, 100, {"debian": 5, "ubuntu": 3}, False, id="under-limit-nothing-trimmed"),
    pytest.param(5, 3, 1, 6, {"debian": 3, "ubuntu": 3}, False, id="trim-largest-group-first"),
    pytest.param(5, 3, 1, 4, {"debian": 2, "ubuntu": 2}, False, id="trim-alternates-when-equal"),
    pytest.param(5, 3, 2, 3, {"debian": 2, "ubuntu": 2}, True, id="stops-at-min-per-name"),
    pytest.param(5, 3, 3, 8, {"debian": 5, "ubuntu": 3}, False, id="exactly-at-limit"),
    pytest.param(5, 3, 3, 7, {"debian": 4, "ubuntu": 3}, False, id="one-over-limit"),
]


@pytest.mark.parametrize(("deb", "ubu", "minimum", "limit_mb", "kept", "over"), SIZE_CASES)
def test_size_limit(
    deb: int, ubu: int, minimum: int, limit_mb: int, kept: dict[str, int], over: bool
) -> None:
    entities = DEB[:deb] + UBU[:ubu]
    selection = select_images(entities, listing_for(entities), NOW,
                              SelectionRules(min_per_name=minimum, max_cache_size=limit_mb * MB))
    counts = {name: sum(1 for w in selection.wanted if w.id.startswith(name)) for name in kept}
    assert counts == kept
    assert selection.over_limit is over
    # what goes is always the oldest of its group
    for name in kept:
        group = sorted(e.id for e in entities if e.id.startswith(name))
        newest = group[len(group) - kept[name]:]
        assert sorted(w.id for w in selection.wanted if w.id.startswith(name)) == newest
    if not over:
        assert selection.total_size <= limit_mb * MB


def test_size_limit_drops_by_largest_group_bytes_on_equal_counts() -> None:
    small = [image(f"ubuntu-24.04.2024010{d}") for d in (1, 2)]
    large = [image(f"debian-12.0.2024010{d}") for d in (1, 2)]
    listing = {**listing_for(small, size=MB), **listing_for(large, size=5 * MB)}
    rules = SelectionRules(min_per_name=1, max_cache_size=9 * MB)
    selection = select_images(small + large, listing, NOW, rules)
    assert [s.id for s in selection.skipped] == ["debian-12.0.20240101"]


FILE_CASES = [
    pytest.param({}, {}, True, Action.DOWNLOAD, id="missing-downloads"),
    pytest.param({"a": "1" * 32}, {"a": "1" * 32}, True, Action.KEEP, id="verified-keeps"),
    pytest.param({"a": "1" * 32}, {"a": "2" * 32}, True, Action.DOWNLOAD, id="changed-md5-downloads"),
    pytest.param({"a": None}, {"a": "2" * 32}, True, Action.DOWNLOAD, id="no-sidecar-downloads"),
    pytest.param({"a": "1" * 32}, {}, True, Action.KEEP, id="remote-md5-unknown-keeps"),
    pytest.param({"a": None}, {}, False, Action.KEEP, id="kernel-without-md5-keeps"),
]


@pytest.mark.parametrize(("cached", "remote", "has_md5", "action"), FILE_CASES)
def test_plan_files(
    cached: dict[str, str | None], remote: dict[str, str], has_md5: bool, action: Action
) -> None:
    index = {k: CachedFile(k, 10, md5) for k, md5 in cached.items()}
    items = plan_files([WantedFile("img-1.0", "a", 10, "http://x/a", has_md5=has_md5)], index, remote)
    assert [(i.subpath, i.action) for i in items] == [("a", action)]


def test_plan_deletes_what_is_not_wanted() -> None:
    index = {"old": CachedFile("old", 3, "1" * 32), "a": CachedFile("a", 10, "1" * 32)}
    items = plan_files([WantedFile("i", "a", 10, "u")], index, {"a": "1" * 32})
    assert {(i.subpath, i.action) for i in items} == {("a", Action.KEEP), ("old", Action.DELETE)}


def test_plan_images_end_to_end_totals() -> None:
    entities = DEB[:3]
    index = {DEB[0].store_key: CachedFile(DEB[0].store_key, MB, "a" * 32),
             "metal-os/gone/img.tar.lz4": CachedFile("metal-os/gone/img.tar.lz4", 2 * MB, "b" * 32)}
    plan = plan_images(entities, listing_for(entities), index, {DEB[0].store_key: "a" * 32}, NOW,
                       SelectionRules(max_per_name=2))
    actions = {i.id: i.action for i in plan.items}
    assert actions == {DEB[1].id: Action.DOWNLOAD, DEB[2].id: Action.DOWNLOAD, "-": Action.DELETE}
    assert plan.total_size == 2 * MB
    assert plan.download_size == 2 * MB
    assert [s.id for s in plan.skipped] == [DEB[0].id]


def test_wanted_from_urls() -> None:
    urls = ["http://h/k/vmlinuz", "http://h/k/vmlinuz", "http://h/pull_requests/k", "http://h/gone",
            "http://h/initrd.img.lz4", "http://h/no-md5.img"]
    sizes = {u: 5 for u in urls if "gone" not in u}
    selection = wanted_from_urls(urls, sizes, ["/pull_requests/"], need_md5=True,
                                 md5_present=["http://h/initrd.img.lz4", "http://h/k/vmlinuz"])
    assert [w.subpath for w in selection.wanted] == ["k/vmlinuz", "initrd.img.lz4"]
    assert [s.id for s in selection.skipped] == ["http://h/pull_requests/k", "http://h/gone", "http://h/no-md5.img"]
    kernels = wanted_from_urls(urls[:1], sizes, [], need_md5=False)
    assert [(w.subpath, w.has_md5) for w in kernels.wanted] == [("k/vmlinuz", False)]
