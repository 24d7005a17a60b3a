"""`diff`: name each path that differs between two image trees or archives."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from metal_images import ui
from metal_images.artifact.treediff import ASPECTS, describe, diff_states, read_side


@click.command("diff")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as a JSON list.")
@click.option("--ignore", multiple=True, type=click.Choice(ASPECTS),
              help="Do not report this aspect (repeatable), e.g. mtime when comparing a build tree "
                   "with an archive, whose mtimes export clamps to SOURCE_DATE_EPOCH.")
def diff(a: Path, b: Path, as_json: bool, ignore: tuple[str, ...]) -> None:
    """Compare two images: A and B are each a root tree (directory) or an img.tar.lz4.

    \b
    One line per differing path on stdout: how it differs (type, content, mode, owner,
    mtime, link, or `only in A` / `only in B`), the path, and the two values.
    Exit code 0: identical; 1: they differ.
    """
    with ui.step(f"read {a}"):
        left = read_side(a)
    with ui.step(f"read {b}"):
        right = read_side(b)
    differences = list(diff_states(left, right, frozenset(ignore)))
    if as_json:
        click.echo(json.dumps([d.as_dict() for d in differences], indent=2))
    else:
        for difference in differences:
            click.echo(describe(difference))
    ui.info(f"{len(differences)} of {len(left.keys() | right.keys())} paths differ")
    sys.exit(1 if differences else 0)


COMMANDS = [diff]
