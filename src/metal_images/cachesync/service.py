"""`run` and `serve` as long-running services: servers plus a sync at start and per schedule."""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiohttp import web
from croniter import croniter

from metal_images import ui
from metal_images.cachesync.config import CacheSyncConfig, parse_bind_address
from metal_images.cachesync.layout import CacheLayout
from metal_images.cachesync.metrics import CacheMetrics
from metal_images.cachesync.server import start_server
from metal_images.cachesync.syncer import Syncer
from metal_images.errors import MetalImagesError


def cache_metrics(config: CacheSyncConfig) -> dict[str, CacheMetrics]:
    layout = CacheLayout(config.cache_root_path)
    metrics = {"images": CacheMetrics("images", layout.images)}
    if config.enable_kernel_cache:
        metrics["kernels"] = CacheMetrics("kernels", layout.kernels)
    if config.enable_boot_image_cache:
        metrics["boot-images"] = CacheMetrics("boot-images", layout.boot_images)
    return metrics


def _binds(config: CacheSyncConfig) -> dict[str, str]:
    return {"images": config.image_cache_bind_address, "kernels": config.kernel_cache_bind_address,
            "boot-images": config.boot_image_cache_bind_address}


async def _start_all(config: CacheSyncConfig, metrics: dict[str, CacheMetrics]) -> list[web.AppRunner]:
    runners: list[web.AppRunner] = []
    binds = _binds(config)
    try:
        for kind, cache in metrics.items():
            bind = parse_bind_address(binds[kind], flag=f"{kind}-bind-address")
            cache.root.mkdir(parents=True, exist_ok=True)
            try:
                runners.append(await start_server(cache, bind))
            except OSError as exc:
                reason = exc.strerror or exc
                raise MetalImagesError(f"cannot serve the {kind} cache on {bind}: {reason}") from exc
            ui.info(f"serving the {kind} cache {cache.root} on http://{bind}")
    except BaseException:
        for runner in runners:
            await runner.cleanup()
        raise
    return runners


def seconds_until_next(schedule: str, now: datetime) -> float:
    following = croniter(schedule, now).get_next(datetime)
    return max(0.0, float((following - now).total_seconds()))


async def _run(config: CacheSyncConfig, serve: bool) -> None:
    metrics = cache_metrics(config)
    syncer = Syncer(config, metrics)
    runners = await _start_all(config, metrics) if serve else []
    try:
        while True:
            try:
                # a round at a time: a tick that comes while a round still runs is skipped
                await asyncio.to_thread(syncer.run_round, dry_run=config.dry_run)
            except MetalImagesError as exc:
                ui.warn(f"{exc.message} (the cache stays as it is; next try at the next schedule tick)")
            delay = seconds_until_next(config.schedule, datetime.now().astimezone())
            ui.info(f"next sync in {ui.format_duration(delay)} (schedule {config.schedule!r})")
            await asyncio.sleep(delay)
    finally:
        for runner in runners:
            await runner.cleanup()


async def _serve(config: CacheSyncConfig) -> None:
    runners = await _start_all(config, cache_metrics(config))
    try:
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def run_forever(config: CacheSyncConfig, *, serve: bool) -> None:
    asyncio.run(_run(config, serve))


def serve_forever(config: CacheSyncConfig) -> None:
    asyncio.run(_serve(config))
