"""`export` and `check`: turn a built tree into img.tar.lz4 + sidecars; check any image."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from metal_images import paths, ui
from metal_images.artifact import registry
from metal_images.artifact.exporter import (
    DEFAULT_LEVEL,
    ImageIdentity,
    default_threads,
    export_tree,
)
from metal_images.artifact.lz4frame import MAX_LEVEL, MIN_LEVEL
from metal_images.artifact.promote import check_candidate, promote
from metal_images.builder.state import load_state
from metal_images.catalog import load_catalog
from metal_images.contract.reader import URL_RULE
from metal_images.contract.report import check_archive
from metal_images.errors import ConfigError
from metal_images.identity import STABLE, Channel, ImageRef
from metal_images.sizes import parse_size


def _channel(_ctx: click.Context, _param: click.Parameter, value: str) -> Channel:
    return Channel.parse(value)


@click.command("export")
@click.argument("name")
@click.option("--channel", default=STABLE, show_default=True, callback=_channel,
              help="stable | pull_requests/<pr>-<branch> | <YYYYMMDD>")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Store root to write into [default: images/ of the checkout]")
@click.option("--level", type=click.IntRange(MIN_LEVEL, MAX_LEVEL), default=DEFAULT_LEVEL, show_default=True,
              help="LZ4 level: <3 fast mode, 3-12 high compression (lz4 -9 = 9).")
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="Compression threads [default: all CPUs]; the output is the same for any count.")
@click.option("--rootfs", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Export this tree instead of the built one (build/<name>/rootfs).")
@click.option("--from-candidate", "candidate_root", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Promote the files exported (and tested) under this store root "
                                 "instead of exporting again; they must be of the current build.")
def export(name: str, channel: Channel, output: Path | None, level: int, threads: int | None,
           rootfs: Path | None, candidate_root: Path | None) -> None:
    """Write images/<channel>/<os>/<version>/ from the built tree of image NAME.

    \b
    Files (see artifact/registry.py):
      img.tar.lz4              deterministic tar of the tree, one LZ4 frame
      img.tar.lz4.md5/.sha256/.sha512   md5sum format, computed while writing
      packages.txt             dpkg -l (rpm -qa for RPM images)
      sbom.cdx.json            CycloneDX SBOM from the package database
      image-info.json          os-release, kernel, packages, services, users, sizes
      build.json               stage keys, parent, args, tool versions

    Everything is written to a temporary directory and renamed into place.
    --from-candidate DIR promotes what `export --output DIR` wrote (and `test` proved)
    instead: the same files, checked against the current build and their .sha256.
    mtimes are clamped to SOURCE_DATE_EPOCH (default: the build's finish time), so two
    exports of the same tree are byte-identical.
    """
    spec = load_catalog().get(name)
    ref = ImageRef.make(channel, spec.name, spec.version)
    if candidate_root is not None:
        if rootfs is not None:
            raise ConfigError("export: --from-candidate promotes files; it takes no --rootfs")
        _promote(spec.family, ImageIdentity.of(spec.family, ref), ref.directory(candidate_root),
                 ref.directory(output or paths.output_dir()))
        return
    root = rootfs or paths.rootfs_dir(spec.family)
    if not root.is_dir():
        raise ConfigError(f"{name} is not built: {root} does not exist (run `metal-images build {name}`)")
    target = ref.directory(output or paths.output_dir())
    identity = ImageIdentity.of(spec.family, ref)
    with ui.step(f"export {name} -> {target}"):
        result = export_tree(root, target, identity, level=level, threads=threads or default_threads(),
                             build_state=load_state(spec.family))
    d = result.digests
    ui.info(f"{target / registry.IMAGE}: {d.size / 1e6:.1f} MB ({result.stats.entries} entries, "
            f"{d.content_size / 1e6:.1f} MB tar), md5 {d.md5}")
    click.echo(str(target / registry.IMAGE))


def _promote(family: str, identity: ImageIdentity, candidate: Path, target: Path) -> None:
    if candidate.resolve() == target.resolve():
        raise ConfigError(f"export: the candidate {candidate} is the output itself")
    with ui.step(f"promote {candidate} -> {target}"):
        md5 = check_candidate(candidate, identity, load_state(family))
        promote(candidate, target)
    ui.info(f"{target / registry.IMAGE}: the tested candidate, md5 {md5}")
    click.echo(str(target / registry.IMAGE))


@click.command("check")
@click.argument("source", metavar="PATH_OR_URL")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--role", type=click.Choice(["machine", "firewall"]), default=None,
              help="Which tool set to require [default: guessed from the image].")
@click.option("--strict", is_flag=True, help="Warnings and skipped rules fail too.")
@click.option("--deadline", type=click.FloatRange(min=0, min_open=True), default=URL_RULE.deadline,
              show_default=True, help="A URL: seconds for the whole check before it gives up.")
@click.option("--min-speed", default="64K", show_default=True,
              help="A URL: give up when it averages less than this per second over 30 s (0: no minimum).")
def check(source: str, as_json: bool, role: str | None, strict: bool, deadline: float,
          min_speed: str) -> None:
    """Check an img.tar.lz4 (file or http(s) URL) against the metal-stack contract.

    One streaming pass (a URL is never saved to disk) collects what the rules need; the
    .md5/.sha256/.sha512 sidecars are read beside it (at most 64 KiB each). Exit code 0
    only if no rule fails (with --strict: only if every rule passes). Warnings are
    conventions, not breakage. A URL that trickles or runs past --deadline, and a broken
    LZ4 frame, end the download.
    """
    rule = replace(URL_RULE, min_rate=parse_size(min_speed, what="--min-speed"), deadline=deadline)
    report = check_archive(source, role=role, rule=rule)
    if as_json:
        click.echo(json.dumps(report.as_dict(strict=strict), indent=2))
    else:
        report.render(ui.stdout_console(soft_wrap=False))
    raise SystemExit(0 if report.ok(strict=strict) else 1)


COMMANDS = [export, check]
