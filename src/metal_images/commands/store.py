"""`publish`, `release`, `serve` and `store ls|diff`: the image store."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from metal_images import ui
from metal_images.errors import ConfigError
from metal_images.files import atomic_write
from metal_images.identity import Channel, ImageRef, parse_date
from metal_images.sizes import format_size
from metal_images.store import open_store
from metal_images.store.backend import Backend
from metal_images.store.diff import diff_images, format_diff
from metal_images.store.file_backend import FileBackend
from metal_images.store.listing import list_sets
from metal_images.store.local_set import read_local_set
from metal_images.store.plan import format_plan
from metal_images.store.publish import plan_publish, publish, resolve_source
from metal_images.store.release import (
    api_entries,
    catalog_families,
    check_base_url,
    describe,
    downloads_table,
    plan_release,
    run_release,
    select_sets,
    stable_sets,
)


@dataclass(frozen=True)
class StoreAddress:
    """Where --store and --endpoint-url point; opened by the command that needs it."""

    url: str | None
    endpoint_url: str | None

    def open(self, *, create: bool = False, missing_ok: bool = False) -> Backend:
        return open_store(self.url, endpoint_url=self.endpoint_url, create=create, missing_ok=missing_ok)


def store_options(func: Callable[..., None]) -> Callable[..., None]:
    """Add --store and --endpoint-url; the command gets them as one `store: StoreAddress`."""

    @functools.wraps(func)
    def command(*args: Any, store_url: str | None, endpoint_url: str | None, **kwargs: Any) -> None:
        func(*args, store=StoreAddress(store_url, endpoint_url), **kwargs)

    with_endpoint = click.option(
        "--endpoint-url",
        metavar="URL",
        help="S3 endpoint (default: AWS_ENDPOINT_URL, else AWS). Credentials and region: AWS_* / ~/.aws.",
    )(command)
    return click.option(
        "--store",
        "store_url",
        metavar="URL",
        help="file:///path, a path, or s3://bucket/prefix (default: $METAL_IMAGES_STORE, else out/store).",
    )(with_endpoint)


def plan_options(func: Callable[..., None]) -> Callable[..., None]:
    """--force and --dry-run, for the commands that plan their changes to a store first."""
    func = click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")(func)
    return click.option("--force", is_flag=True, help="Overwrite files of a dated release that differ.")(func)


def _echo_plan(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


@click.command("publish")
@click.argument("images", nargs=-1, required=True, metavar="NAME|DIR...")
@click.option(
    "--channel", default="stable", show_default=True, help="stable, YYYYMMDD, or pull_requests/<pr>-<branch>."
)
@store_options
@plan_options
def publish_cmd(
    images: tuple[str, ...],
    channel: str,
    store: StoreAddress,
    force: bool,
    dry_run: bool,
) -> None:
    """Upload exported artifact sets to metal-os/<channel>/<os>/<version>/.

    NAME is a catalog family (its export under images/<channel>/<os>/<version>/), DIR an
    artifact directory .../<os>/<version>/. The image goes first, the sidecars next and the
    .md5 last, so nobody picks up a half-published image (cache-sync needs the .md5).
    Unchanged files are skipped by checksum; re-running after a failure completes the set.

    \b
    Examples:
      metal-images publish debian
      metal-images publish images/stable/debian/12 --store s3://images --endpoint-url http://127.0.0.1:9000
      metal-images publish debian --channel pull_requests/42-fix-grub --dry-run
    """
    target = Channel.parse(channel)
    backend = store.open(create=not dry_run, missing_ok=dry_run)
    for name in images:
        local = read_local_set(resolve_source(name, target))
        with ui.step(f"publish {local.os}/{local.version} to {backend.url}/{target.path}"):
            if dry_run:
                _echo_plan(format_plan(plan_publish(backend, local, target, force=force)))
                continue
            prefix = ImageRef.make(target, local.os, local.version).prefix
            started = dt.datetime.now(dt.UTC)
            with backend.set_lock(prefix):  # file stores: one publish of a set at a time
                for leftover in backend.clean_leftovers(prefix, before=started):
                    ui.info(f"removed {leftover}, left by an interrupted publish")
                plan = plan_publish(backend, local, target, force=force)
                for line in format_plan(plan):
                    ui.detail(line)
                if not plan.changes:
                    ui.info("already published, nothing to do")
                    continue
                publish(backend, local, plan)
            ui.info(f"{len(plan.transfers)} file(s), {plan.bytes:,} bytes -> {plan.dest.prefix}")


def _expiration(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"--expiration-date '{value}': expected YYYY-MM-DD") from exc


@click.command("release")
@click.argument("images", nargs=-1, metavar="[IMAGE...]")
@click.option(
    "--date", "date", required=True, metavar="YYYYMMDD", help="The release date (the patch version)."
)
@store_options
@click.option(
    "--base-url",
    metavar="URL",
    help="Download URL of the store root (default: $METAL_IMAGES_BASE_URL, the S3 endpoint, "
    "or http://127.0.0.1:8080/ for a file store served by `serve`).",
)
@click.option(
    "--api-yaml",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the metal-api image entries (YAML) to this file.",
)
@click.option("--expiration-date", metavar="YYYY-MM-DD", help="expirationDate of the metal-api entries.")
@click.option(
    "--notes",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the downloads table (markdown, to append to the release notes) to this file.",
)
@plan_options
def release_cmd(
    images: tuple[str, ...],
    date: str,
    store: StoreAddress,
    base_url: str | None,
    api_yaml: Path | None,
    expiration_date: str | None,
    notes: Path | None,
    force: bool,
    dry_run: bool,
) -> None:
    """Promote stable images to metal-os/<YYYYMMDD>/ by server-side copy (no rebuild).

    IMAGE is an os (debian), os/version (debian/12) or a catalog family; none = every
    complete image in stable. Prints the downloads table (markdown; --notes FILE writes it
    to a file, as upstream's release workflow appends it to the release notes) and, with
    --api-yaml, writes the metal-api entries: id <os>-<major.minor>.<YYYYMMDD> (debian/12 ->
    debian-12.0.20261125, firewall/3.0-ubuntu -> firewall-ubuntu-3.0.20261125).
    """
    parse_date(date)
    expires = _expiration(expiration_date)
    backend = store.open()
    # checked before anything is copied: the URL goes into markdown links and YAML
    base = check_base_url(base_url or backend.http_base())
    specs = catalog_families()
    families = {family: (spec.name, spec.version) for family, spec in specs.items()}
    sets = select_sets(stable_sets(backend), list(images), families)
    if not sets:
        raise ConfigError(f"release: no complete image in {backend.url}/metal-os/stable/")
    plans = plan_release(backend, sets, date, force=force)
    if dry_run:
        for plan in plans:
            _echo_plan(format_plan(plan))
    else:
        run_release(backend, sets, plans)
    released = describe([p.dest for p in plans], date, specs)
    table = downloads_table(released, base)
    click.echo(table, nl=False)
    if notes is not None:
        if dry_run:
            ui.info(f"would write the downloads table to {notes}")
        else:
            atomic_write(notes, table)
            ui.info(f"downloads table written to {notes}")
    if api_yaml is not None:
        text = api_entries(released, base, expires)
        if dry_run:
            click.echo(f"\n# would write {api_yaml}:\n{text}", nl=False)
        else:
            atomic_write(api_yaml, text)
            ui.info(f"metal-api image entries written to {api_yaml}")


@click.command("serve")
@click.argument("store_url", required=False, metavar="[STORE]")
@click.option(
    "--bind", default="127.0.0.1:8080", show_default=True, help="HOST:PORT (port 0: any free port)."
)
@click.option("--access-log", is_flag=True, help="Log every request.")
def serve_cmd(store_url: str | None, bind: str, access_log: bool) -> None:
    """Serve a file store over HTTP: Range, HEAD, ETag/Last-Modified, JSON listings.

    Directories list as HTML, or JSON with `Accept: application/json` or `?format=json`.
    Nothing outside the store root is reachable. An s3:// store is served by its own
    endpoint; this serves directories only.
    """
    from metal_images.serve.server import serve_directory

    backend = open_store(store_url)
    if not isinstance(backend, FileBackend):
        raise ConfigError(
            f"serve: {backend.url} is an S3 store; serve it through its endpoint (file stores only)"
        )

    def ready(url: str) -> None:
        click.echo(f"serving {backend.url} at {url}", nl=True)

    serve_directory(backend.root, bind, access_log=access_log, ready=ready)


@click.group("store")
def store_group() -> None:
    """Look into an image store: list images, diff their packages, clean leftovers."""


@store_group.command("ls")
@store_options
@click.option("--channel", help="Only this channel (stable, YYYYMMDD, pull_requests/<pr>-<branch>).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def store_ls(store: StoreAddress, channel: str | None, as_json: bool) -> None:
    """List published images by os, version and channel, with sizes.

    A set without its image or its .md5 is marked INCOMPLETE: cache-sync and metal-hammer
    do not pick it up; re-run publish to complete it.
    """
    backend: Backend = store.open()
    sets = list_sets(backend, Channel.parse(channel) if channel else None)
    if as_json:
        rows = [
            {
                "os": s.ref.os,
                "version": s.ref.version,
                "channel": s.ref.channel.path,
                "path": s.ref.prefix,
                "complete": s.complete,
                "missing": s.missing,
                "image_size": s.image_size,
                "size": s.size,
                "files": sorted(s.files),
                "modified": s.modified.isoformat() if s.modified else None,
            }
            for s in sets
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    if not sets:
        ui.info(f"{backend.url}: no images")
        return
    table = Table(title=backend.url)
    for column in ("OS", "VERSION", "CHANNEL"):
        table.add_column(column, no_wrap=True)
    for column in ("IMAGE", "TOTAL", "FILES"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("STATE", no_wrap=True, min_width=10)
    table.add_column("MODIFIED (UTC)")
    for s in sets:
        state = Text("complete") if s.complete else Text("INCOMPLETE", style="red")
        modified = s.modified.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if s.modified else ""
        row = (s.ref.os, s.ref.version, s.ref.channel.path, format_size(s.image_size), format_size(s.size))
        table.add_row(*row, str(len(s.files)), state, modified)
    ui.result(table)
    for s in sets:
        if not s.complete:
            ui.info(f"INCOMPLETE {s.ref.short}: no {', '.join(s.missing)} (not picked up; re-run publish)")


@store_group.command("clean")
@store_options
@click.option("--older-than", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Hours: leftovers younger than this may belong to a publish still running.")
def store_clean(store: StoreAddress, older_than: float) -> None:
    """Remove what killed publishes left: hidden temp files (file stores) and unfinished
    multipart uploads (S3), started more than --older-than hours ago. Prints what went.

    A publish cleans its own set the same way before it starts; this covers the whole store.
    """
    backend = store.open()
    before = dt.datetime.now(dt.UTC) - dt.timedelta(hours=older_than)
    removed = backend.clean_leftovers("", before=before)
    for leftover in removed:
        click.echo(leftover)
    ui.info(f"{backend.url}: {len(removed)} leftover(s) removed")


@store_group.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def store_diff(a: str, b: str, store: StoreAddress, as_json: bool) -> None:
    """The package diff of two published images (from their packages.txt).

    A and B are store paths <channel>/<os>/<version>, e.g. `store diff 20261125/debian/12
    stable/debian/12`: added, removed and changed packages, and the kernel change.
    """
    ref_a, ref_b = ImageRef.parse_path(a), ImageRef.parse_path(b)
    backend = store.open()
    diff = diff_images(backend, ref_a, ref_b)
    if as_json:
        data = {
            "a": ref_a.short,
            "b": ref_b.short,
            "added": diff.added,
            "removed": diff.removed,
            "changed": {n: {"from": o, "to": v} for n, (o, v) in diff.changed.items()},
            "kernel": {"from": diff.kernel[0], "to": diff.kernel[1]} if diff.kernel else None,
        }
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(format_diff(ref_a, ref_b, diff), nl=False)


COMMANDS = [publish_cmd, release_cmd, serve_cmd, store_group]
