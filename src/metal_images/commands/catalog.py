"""`list` and `schema`: look at the image catalog."""

from __future__ import annotations

import json

import click
from rich.table import Table

from metal_images import paths, ui
from metal_images.catalog import Catalog, ImageSpec, load_catalog


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
def list_images(as_json: bool) -> None:
    """List the images of the catalog (images/<family>/image.yaml)."""
    catalog = load_catalog()
    specs = catalog.all()
    if as_json:
        rows = [
            {
                "family": s.family,
                "id": s.image_id,
                "name": s.name,
                "version": s.version,
                "base": _base(s),
                "role": s.role,
                "kernel": _kernel(catalog, s),
                "features": s.features,
                "supported": s.supported,
                "built": paths.rootfs_dir(s.family).is_dir(),
            }
            for s in specs
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table("IMAGE", "ID", "FROM", "ROLE", "KERNEL", "SUPPORTED", "BUILT")
    for s in specs:
        table.add_row(
            s.family,
            s.image_id,
            _base(s),
            s.role,
            _kernel(catalog, s) or "-",
            "yes" if s.supported else "no",
            "yes" if paths.rootfs_dir(s.family).is_dir() else "-",
        )
    ui.result(table)


def _kernel(catalog: Catalog, spec: ImageSpec) -> str | None:
    """The kernel package the image pins, its own or the nearest parent's."""
    return next((s.kernel for s in reversed(catalog.lineage(spec.family)) if s.kernel), None)


def _base(spec: ImageSpec) -> str:
    if spec.from_:
        return spec.from_
    if spec.dockerfile:
        return f"dockerfile:{spec.dockerfile}"
    return f"{spec.distribution}:{spec.suite}"


@click.command("schema")
def schema() -> None:
    """Print the JSON schema of image.yaml (for editor completion)."""
    data = ImageSpec.model_json_schema(by_alias=True)
    data["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    data["title"] = "metal-images image.yaml"
    click.echo(json.dumps(data, indent=2))


COMMANDS = [list_images, schema]
