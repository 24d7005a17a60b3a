"""One sync round: gather inputs, plan (pure), print the plan, then carry it out.

Downloads first (each verified in a temp file and renamed into place), then deletions,
then empty directories. A failing download never touches the file it would replace, and
a cache with a failed download deletes nothing that round (a deletion may be what makes
room for the file that did not arrive); the round ends with an error and the next
schedule tick tries again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from metal_images import ui
from metal_images.cachesync import http
from metal_images.cachesync.config import CacheSyncConfig
from metal_images.cachesync.download import DiskFullError, download_verified, write_text_atomic
from metal_images.cachesync.entities import ImageEntity, load_entities_file, load_url_list
from metal_images.cachesync.layout import CacheLayout, index_cache, remove_empty_dirs, remove_file
from metal_images.cachesync.metalapi import MetalApi
from metal_images.cachesync.planner import (
    Action,
    Plan,
    PlanItem,
    plan_files,
    plan_images,
    unsafe_path_reason,
    wanted_from_urls,
)
from metal_images.cachesync.retry import FetchError, TransientError, with_retries
from metal_images.cachesync.store import HttpStore, ObjectRef, Store, open_store
from metal_images.errors import MetalImagesError
from metal_images.sidecar import read_digest
from metal_images.sizes import format_size

if TYPE_CHECKING:  # the servers' metrics: `run --once` starts quicker without prometheus_client
    from metal_images.cachesync.metrics import CacheMetrics


class SyncError(MetalImagesError):
    """A round did not finish; what is cached stays as it was (apart from finished steps)."""


@dataclass
class CachePlan:
    name: str  # images | kernels | boot-images
    root: Path
    plan: Plan
    store: Store
    verify_md5: bool


@dataclass
class RoundReport:
    plans: list[CachePlan] = field(default_factory=list)
    downloaded: int = 0
    downloaded_bytes: int = 0
    deleted: int = 0
    seconds: float = 0.0


class Syncer:
    def __init__(self, config: CacheSyncConfig, metrics: dict[str, CacheMetrics] | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.config = config
        self.layout = CacheLayout(config.cache_root_path)
        self.metrics = metrics or {}
        self.now = now
        self.policy = config.retry_policy
        self.metal_api = (MetalApi(config.metal_api_endpoint, hmac_key=config.metal_api_hmac,
                                   token=config.metal_api_token, timeout=config.timeout, policy=self.policy,
                                   speed=config.speed_rule)
                          if config.metal_api_endpoint else None)

    # -- inputs and plan ---------------------------------------------------------------
    def entities(self) -> list[ImageEntity]:
        if self.config.image_list is not None:
            return load_entities_file(self.config.image_list)
        assert self.metal_api is not None
        return self.metal_api.images()

    def plan(self) -> list[CachePlan]:
        """All plans of this round (images, then kernels and boot images when enabled)."""
        cfg = self.config
        store = open_store(cfg.store_url, endpoint=cfg.image_store, bucket=cfg.image_store_bucket,
                           timeout=cfg.timeout, attempts=cfg.retries, speed=cfg.speed_rule)
        entities = self.entities()
        # excluded or unsafe images need not be looked up (an HTTP store asks each one with HEAD)
        refs = [ObjectRef(e.store_key, e.url) for e in entities
                if not any(x and x in e.url for x in cfg.excludes) and not unsafe_path_reason(e.url)]
        listing = with_retries(f"list {store.description}", lambda: store.listing(refs), self.policy)
        index = index_cache(self.layout.images)
        cached = [r for r in refs if r.key in index and r.key + ".md5" in listing]
        remote_md5 = self._remote_md5s(store, cached)
        plan = plan_images(entities, listing, index, remote_md5, self.now(), cfg.rules)
        if "images" in self.metrics:
            wanted = len([i for i in plan.items if i.action is not Action.DELETE])
            self.metrics["images"].api_images.set(len(entities))
            self.metrics["images"].unsynced.set(len(entities) - wanted)
        plans = [CachePlan("images", self.layout.images, plan, store, verify_md5=True)]
        plans.extend(self._boot_plans())
        return plans

    def _remote_md5s(self, store: Store, refs: Sequence[ObjectRef]) -> dict[str, str]:
        sums: dict[str, str] = {}
        for ref in refs:
            try:
                text = self._md5_text(store, ref)
                sums[ref.key] = read_digest(text, "md5", what=f"{store.description}: {ref.key}.md5")
            except MetalImagesError as exc:
                # one unreadable checksum must not stop the round: the cached copy is kept as it is
                ui.warn(f"{exc.message}; keeping the cached {ref.key} unchecked")
        return sums

    def _md5_text(self, store: Store, ref: ObjectRef) -> str:
        return with_retries(f"get {ref.key}.md5", lambda: store.read_text(ref.md5()), self.policy)

    def _sha256(self, store: Store, ref: ObjectRef) -> str | None:
        """The store's sha256 of `ref` when it offers one (verified instead of the md5: the
        stronger sum, and the faster one here); None when it has no usable `.sha256`."""
        what = f"{store.description}: {ref.key}.sha256"
        try:
            text = with_retries(f"get {ref.key}.sha256", lambda: store.read_text(ref.sha256()), self.policy)
        except TransientError:
            raise  # the store is there but failing: the round retries later, as for the .md5
        except FetchError as exc:
            ui.detail(f"{exc.message}: verifying the md5")
            return None
        try:
            return read_digest(text, "sha256", what=what)
        except MetalImagesError as exc:
            ui.warn(f"{exc.message}; verifying the md5")
            return None

    def _head(self, url: str) -> int | None:
        timeout = self.config.timeout
        return with_retries(f"HEAD {url}", lambda: http.head_size(url, timeout=timeout), self.policy)

    def _boot_plans(self) -> list[CachePlan]:
        cfg = self.config
        kernel_urls: list[str] | None = None
        boot_urls: list[str] | None = None
        if cfg.kernel_urls_file:
            kernel_urls = load_url_list(cfg.kernel_urls_file)
        if cfg.boot_image_urls_file:
            boot_urls = load_url_list(cfg.boot_image_urls_file)
        if self.metal_api and ((cfg.enable_kernel_cache and kernel_urls is None)
                               or (cfg.enable_boot_image_cache and boot_urls is None)):
            try:
                api_kernels, api_boot = self.metal_api.boot_urls()
            except MetalImagesError as exc:
                # the image cache still syncs; the boot caches stay as they are
                ui.warn(f"kernel and boot image caches not synced this round: {exc.message}")
            else:
                kernel_urls = api_kernels if kernel_urls is None else kernel_urls
                boot_urls = api_boot if boot_urls is None else boot_urls
        plans: list[CachePlan] = []
        # without a source of URLs the cache is left alone (an empty list would delete it all)
        if cfg.enable_kernel_cache and kernel_urls is not None:
            plans.append(self._url_plan("kernels", self.layout.kernels, kernel_urls, need_md5=False))
        if cfg.enable_boot_image_cache and boot_urls is not None:
            plans.append(self._url_plan("boot-images", self.layout.boot_images, boot_urls, need_md5=True))
        return plans

    def _url_plan(self, name: str, root: Path, urls: list[str], *, need_md5: bool) -> CachePlan:
        store = HttpStore(None, timeout=self.config.timeout, speed=self.config.speed_rule)
        sizes: dict[str, int] = {}
        with_md5: list[str] = []
        for url in dict.fromkeys(urls):
            if any(e and e in url for e in self.config.excludes) or unsafe_path_reason(url):
                continue  # the selection below says why
            size = self._head(url)
            if size is None:
                ui.warn(f"{name}: {url} is not reachable, skipped")
                continue
            sizes[url] = size
            if need_md5 and self._head(url + ".md5") is not None:
                with_md5.append(url)
        selection = wanted_from_urls(urls, sizes, self.config.excludes,
                                     need_md5=need_md5, md5_present=with_md5)
        index = index_cache(root)
        cached = [ObjectRef(w.subpath, w.url) for w in selection.wanted if w.subpath in index]
        remote = self._remote_md5s(store, cached) if need_md5 else {}
        plan = Plan(plan_files(selection.wanted, index, remote), selection.skipped)
        return CachePlan(name, root, plan, store, verify_md5=need_md5)

    # -- acting ------------------------------------------------------------------------
    def run_round(self, *, dry_run: bool = False, out: Console | None = None) -> RoundReport:
        started = time.monotonic()
        report = RoundReport()
        with self.layout.locked():
            leftovers = self.layout.clean_tmp()
            if leftovers:
                ui.info(f"removed {leftovers} leftover temporary file(s) of an interrupted sync")
            with ui.step("plan"):
                report.plans = self.plan()
            show = ui.log if out is None else out.print  # `run`'s log, or `plan`'s result
            for cache_plan in report.plans:
                print_plan(cache_plan, show)
            if dry_run:
                return report
            failures: list[str] = []
            for cache_plan in report.plans:
                failed_before = len(failures)
                self._download_all(cache_plan, report, failures)
                if len(failures) == failed_before:
                    self._delete_all(cache_plan, report)
                else:
                    self._keep_deletions(cache_plan, len(failures) - failed_before)
                remove_empty_dirs(cache_plan.root)
            for metrics in self.metrics.values():
                metrics.refresh()
        report.seconds = time.monotonic() - started
        if failures:
            raise SyncError(f"sync round failed: {len(failures)} download(s) failed; first: {failures[0]}",
                            detail="\n".join(failures))
        ui.info(f"sync round done: {report.downloaded} downloaded ({format_size(report.downloaded_bytes)}), "
                f"{report.deleted} deleted in {ui.format_duration(report.seconds)}")
        return report

    def _download_all(self, cache_plan: CachePlan, report: RoundReport, failures: list[str]) -> None:
        items = cache_plan.plan.with_action(Action.DOWNLOAD)
        if not items:
            return
        progress = ui.transfer_progress()
        try:
            if progress:
                progress.start()
            for item in items:
                try:
                    size = self._download_one(cache_plan, item, progress)
                except DiskFullError as exc:
                    failures.append(exc.message)
                    return  # every further download would fail the same way
                except MetalImagesError as exc:
                    failures.append(exc.message)
                    continue
                report.downloaded += 1
                report.downloaded_bytes += size
                if cache_plan.name == "images" and "images" in self.metrics:
                    self.metrics["images"].synced_bytes.inc(size)
                    self.metrics["images"].synced_count.inc()
        finally:
            if progress:
                progress.stop()

    def _download_one(self, cache_plan: CachePlan, item: PlanItem, progress: Progress | None) -> int:
        store = cache_plan.store
        ref = ObjectRef(item.subpath, item.url)
        final = cache_plan.root / item.subpath
        md5_text: str | None = None
        expected: str | None = None
        sha256: str | None = None
        if cache_plan.verify_md5:
            md5_text = self._md5_text(store, ref)
            expected = read_digest(md5_text, "md5", what=f"{store.description}: {ref.key}.md5")
            sha256 = self._sha256(store, ref)
        task = progress.add_task(item.subpath, total=item.size) if progress else None
        started = time.monotonic()

        def attempt() -> tuple[int, str]:
            if progress and task is not None:
                progress.reset(task, total=item.size)
            with store.open(ref) as source:
                return download_verified(
                    source, final, self.layout.tmp, expected, inside=cache_plan.root,
                    expected_size=source.length, speed=self.config.speed_rule, expected_sha256=sha256,
                    what=f"{item.id} ({ref.key})",
                    on_bytes=(lambda n: progress.advance(task, n)) if progress and task is not None else None)

        size, _md5 = with_retries(f"download {ref.key}", attempt, self.policy)
        if md5_text is not None:
            write_text_atomic(final.with_name(final.name + ".md5"), md5_text, self.layout.tmp,
                              inside=cache_plan.root)
        elapsed = max(time.monotonic() - started, 1e-6)
        ui.info(f"downloaded {item.subpath} ({format_size(size)}, {format_size(int(size / elapsed))}/s)")
        return size

    @staticmethod
    def _keep_deletions(cache_plan: CachePlan, failed: int) -> None:
        """A deletion may make room for a replacement that did not arrive: keep them all."""
        kept = cache_plan.plan.with_action(Action.DELETE)
        if kept:
            ui.warn(f"{cache_plan.name}: {failed} download(s) failed, so the {len(kept)} file(s) they would "
                    "replace stay cached until a round succeeds")

    def _delete_all(self, cache_plan: CachePlan, report: RoundReport) -> None:
        for item in cache_plan.plan.with_action(Action.DELETE):
            remove_file(cache_plan.root, item.subpath)
            ui.info(f"deleted {cache_plan.name}/{item.subpath}")
            report.deleted += 1


def print_plan(cache_plan: CachePlan, show: Callable[[object], None]) -> None:
    plan = cache_plan.plan
    table = Table(title=f"{cache_plan.name} cache ({cache_plan.root})", title_justify="left")
    table.add_column("ID", overflow="fold")
    table.add_column("PATH", overflow="fold")
    table.add_column("SIZE", justify="right", no_wrap=True)
    table.add_column("ACTION", no_wrap=True)
    for item in plan.items:
        table.add_row(item.id, item.subpath, format_size(item.size), item.action.value)
    show(table)
    downloads = len(plan.with_action(Action.DOWNLOAD))
    deletes = len(plan.with_action(Action.DELETE))
    show(f"total size after sync: {format_size(plan.total_size)} ({downloads} to download, "
         f"{format_size(plan.download_size)}; {deletes} to delete)")
    if plan.over_limit:
        show("note: the minimum images per name alone exceed --max-cache-size")
    for skipped in plan.skipped:
        show(Text(f"skipped {skipped.id}: {skipped.reason}"))  # the reason as typed, no markup
