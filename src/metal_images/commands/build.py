"""`build` and `shell`: make a root tree from the catalog; look inside it."""

from __future__ import annotations

import sys

import click

from metal_images import ui
from metal_images.builder.builder import build_image
from metal_images.builder.plan import plan_build
from metal_images.builder.shell import shell as run_shell
from metal_images.catalog import load_catalog
from metal_images.signals import interruptible


@click.command("build")
@click.argument("images", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Rebuild every stage even when its inputs are unchanged.")
@click.option("--dry-run", is_flag=True,
              help="Print the plan (stages, keys, hit or miss and which input changed); build nothing.")
def build(images: tuple[str, ...], force: bool, dry_run: bool) -> None:
    """Build the root tree of one or more catalog images (parents first).

    \b
    Stages are cached by the hash of their inputs:
      bootstrap   mmdebstrap: distribution, suite, components, packages, kernel
      dockerfile  buildah, for `dockerfile:` images FROM metal-images/<image>
      customize   context/ overlay, steps, services, installer, remove, cleanup
    A rebuild with nothing changed is a cache hit; a miss says which input changed.
    The result is build/<image>/rootfs and build/<image>/build-state.json.
    Downloaded packages are shared by all builds in ~/.cache/metal-images/apt/.
    --dry-run prints the plan on stdout, one line per stage of each image's lineage:
      <image> <stage> <key> hit|miss [<what builds it>] <which inputs changed>
    """
    if dry_run:
        catalog = load_catalog()
        for family in images:
            for line in plan_build(catalog, family, force=force).lines():
                click.echo(line)
        return
    for family in images:
        with interruptible():
            result = build_image(family, force=force)
        what = ", ".join(result.rebuilt) if result.rebuilt else "nothing (cache hit)"
        ui.info(f"{family}: {result.rootfs} ({ui.format_duration(result.seconds)}; rebuilt: {what})")


@click.command("shell", context_settings={"ignore_unknown_options": True})
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--network", is_flag=True,
              help="Use the build host's resolv.conf inside (e.g. for apt); removed on exit.")
def shell(image: str, command: tuple[str, ...], network: bool) -> None:
    """Open a shell chrooted into IMAGE's built tree, with /proc, /sys, /dev mounted.

    \b
    metal-images shell debian                  interactive bash
    metal-images shell debian -- dpkg -l frr   run one command, exit with its code
    metal-images shell --network debian       with name resolution (apt works)
    Daemons are kept from starting; the mounts go away when the shell ends.
    Changes persist in the built tree until that stage is rebuilt.
    """
    with interruptible():
        code = run_shell(image, list(command), network=network)
    sys.exit(code)


COMMANDS = [build, shell]
