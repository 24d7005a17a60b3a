"""`cache-sync run|plan|serve`: mirror the metal-api's images into a partition.

Every setting comes from a flag, from `METAL_IMAGE_CACHE_SYNC_<FLAG>` (upper case, `-`
-> `_`) or from a YAML config file (`--config`, else the first of upstream's locations);
flags win over the environment, which wins over the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import yaml

from metal_images import ui
from metal_images.cachesync.config import CONFIG_LOCATIONS, DEFAULT_CACHE_ROOT, ENV_PREFIX, CacheSyncConfig
from metal_images.errors import ConfigError
from metal_images.sizes import parse_size

F = Callable[..., Any]


def _env(flag: str) -> str:
    return ENV_PREFIX + flag.upper().replace("-", "_")


def _load_config_file(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """Eager: read the YAML file into click's default_map before the other options resolve."""
    path = Path(value) if value else next((p for p in CONFIG_LOCATIONS if p.is_file()), None)
    if path is None:
        return value
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {path}: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of flag names to values")
    known = {p.name for p in ctx.command.params if p.name}
    defaults: dict[str, Any] = {}
    for key, item in data.items():
        name = str(key).replace("-", "_")
        if name not in known or name == "config":
            raise ConfigError(f"config file {path}: unknown setting {key!r}")
        defaults[name] = item
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return str(path)


def _option(flag: str, *names: str, **kwargs: Any) -> Callable[[F], F]:
    env_flag = flag.split("/", 1)[0]
    return click.option(f"--{flag}", *names, envvar=_env(env_flag), show_envvar=True, show_default=True,
                        **kwargs)


SYNC_OPTIONS: list[Callable[[F], F]] = [
    _option("image-store", default="metal-stack.io",
            help="S3 endpoint of the image store (host or URL; anonymous access)."),
    _option("image-store-bucket", default="images", help="Bucket of the image store."),
    _option("store-url", default="",
            help="The store instead of S3 at --image-store: a directory, file://, s3://<bucket> "
                 "(endpoint from --image-store), http(s)://<base> or 'direct' (each image's own URL)."),
    _option("metal-api-endpoint", default="",
            help="metal-api URL; the images come from <endpoint>/v1/image."),
    _option("metal-api-hmac", default="", help="metal-api view HMAC key (Metal-View auth)."),
    _option("metal-api-token", default="", help="metal-api bearer token (instead of the HMAC)."),
    _option("image-list", type=click.Path(dir_okay=False, path_type=Path), default=None,
            help="YAML/JSON file of image entities instead of the metal-api."),
    _option("kernel-urls-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
            help="Kernel URLs, one per line (default: the metal-api partitions' bootconfig)."),
    _option("boot-image-urls-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
            help="Boot image (metal-hammer initrd) URLs, one per line; each needs <url>.md5."),
    _option("max-cache-size", default="10G", help="Size limit of the image cache (10G = 10 GiB)."),
    _option("min-images-per-name", type=int, default=3,
            help="Images per os and major.minor kept even beyond --max-cache-size (>= 1)."),
    _option("max-images-per-name", type=int, default=-1,
            help="Most images per os and major.minor (<= 0: all)."),
    _option("expiration-grace-period", type=int, default=0,
            help="Days an image is still synced after its expirationDate."),
    _option("excludes", multiple=True, default=["/pull_requests/"],
            help="Skip images whose URL contains this (repeatable; env: space separated)."),
    _option("enable-kernel-cache/--disable-kernel-cache", "enable_kernel_cache", default=True,
            help="Sync (and serve) the kernel cache."),
    _option("enable-boot-image-cache/--disable-boot-image-cache", "enable_boot_image_cache", default=True,
            help="Sync (and serve) the boot image cache."),
    _option("retries", type=int, default=4, help="Attempts per request before a round gives up."),
    _option("retry-delay", type=float, default=1.0, help="First backoff delay in seconds (doubles, max 30)."),
    _option("timeout", type=float, default=30.0, help="Connect/read timeout of store requests in seconds."),
    _option("min-speed", default="64K",
            help="Per second; a download slower than this on average over --timeout seconds is cut "
                 "off and retried, so a trickling store cannot hold a round (0: no minimum)."),
]

COMMON_OPTIONS: list[Callable[[F], F]] = [
    click.option("--config", envvar=_env("config"), is_eager=True, expose_value=False,
                 callback=_load_config_file, type=click.Path(dir_okay=False),
                 help="YAML file of settings (keys are flag names). Default: the first of "
                      "/etc/metal-image-cache-sync/config.yaml, ~/.metal-image-cache-sync/config.yaml, "
                      "./config.yaml."),
    _option("cache-root-path", type=click.Path(path_type=Path), default=DEFAULT_CACHE_ROOT,
            help="Root of the caches (must exist): images/, kernels/, boot-images/, tmp/."),
    _option("image-cache-bind-address", default="0.0.0.0:3000", help="Where the image cache is served."),
    _option("kernel-cache-bind-address", default="0.0.0.0:3001", help="Where the kernel cache is served."),
    _option("boot-image-cache-bind-address", default="0.0.0.0:3002",
            help="Where the boot image cache is served."),
    _option("log-level", default="info", type=click.Choice(["debug", "info", "warn", "error"]),
            help="debug shows details; warn/error hide progress lines."),
]


def _apply(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


def build_config(params: dict[str, Any], *, needs_images: bool) -> CacheSyncConfig:
    """Turn the click parameters into a validated CacheSyncConfig."""
    level = params.pop("log_level", "info")
    if level == "debug":
        ui.settings.verbose = True
    elif level in ("warn", "error"):
        ui.settings.quiet = True
    params.pop("once", None)
    params.pop("serve", None)
    if "max_cache_size" in params:
        params["max_cache_size"] = parse_size(params["max_cache_size"], what="--max-cache-size")
    if "min_speed" in params:
        params["min_speed"] = parse_size(params["min_speed"], what="--min-speed")
    if "excludes" in params:
        params["excludes"] = tuple(params["excludes"])
    try:
        config = CacheSyncConfig(**params)
    except TypeError as exc:
        raise ConfigError(f"cache-sync settings: {exc}") from exc
    return config.validate(needs_images=needs_images)


@click.group("cache-sync")
def cache_sync() -> None:
    """Mirror the metal-api's OS images (and kernels, boot images) into a partition.

    \b
    run    sync once now, then per --schedule, and serve the caches
    plan   print what a sync would keep, download and delete
    serve  only serve the caches (HTTP, /health, /metrics, 307 on a miss)
    """


@cache_sync.command("run")
@_apply(COMMON_OPTIONS + SYNC_OPTIONS)
@_option("schedule", default="*/10 * * * *", help="Cron schedule of the syncs after the first one.")
@_option("dry-run", is_flag=True, default=False, help="Only print the plan, never download or delete.")
@click.option("--once", is_flag=True, help="One sync round, then exit (non-zero if it failed).")
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="Serve the caches while running (ignored with --once).")
def run_command(**params: Any) -> None:
    """Sync the caches at start, then on every schedule tick, and serve them.

    Each round: list the store and the metal-api images, plan (keep / download / delete),
    download each new image to <cache-root>/tmp verifying its md5, rename it into place,
    write its .md5, delete what the plan drops. A failed round leaves the cache as it was
    and is retried at the next tick.
    """
    once, serve = bool(params["once"]), bool(params["serve"])
    config = build_config(params, needs_images=True)
    if once:
        # without the servers' imports (aiohttp, prometheus): a third of a second less per run
        from metal_images.cachesync.syncer import Syncer

        Syncer(config).run_round(dry_run=config.dry_run)
        return
    from metal_images.cachesync.service import run_forever

    run_forever(config, serve=serve)


@cache_sync.command("plan")
@_apply(COMMON_OPTIONS + SYNC_OPTIONS)
def plan_command(**params: Any) -> None:
    """Print the plan of a sync round (ID | PATH | SIZE | ACTION and the total); change nothing."""
    from metal_images.cachesync.syncer import Syncer

    config = build_config(params, needs_images=True)
    Syncer(config).run_round(dry_run=True, out=ui.out)


@cache_sync.command("serve")
@_apply(COMMON_OPTIONS)
@_option("enable-kernel-cache/--disable-kernel-cache", "enable_kernel_cache", default=True,
         help="Serve the kernel cache.")
@_option("enable-boot-image-cache/--disable-boot-image-cache", "enable_boot_image_cache", default=True,
         help="Serve the boot image cache.")
def serve_command(**params: Any) -> None:
    """Serve the caches over HTTP: files (with Range), /health, /metrics, 307 to https on a miss."""
    from metal_images.cachesync.service import serve_forever

    serve_forever(build_config(params, needs_images=False))


COMMANDS = [cache_sync]
