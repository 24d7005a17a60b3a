"""The `metal-images` command line: parse arguments, call one function per verb.

Each area registers its verbs in `metal_images/commands/<area>.py` as `COMMANDS`.
"""

from __future__ import annotations

import importlib
import sys

import click

from metal_images import __version__, ui
from metal_images.errors import MetalImagesError

# one module per area of the pipeline; each exports COMMANDS: list[click.Command]
COMMAND_MODULES = ["catalog", "build", "export", "test", "store", "cachesync"]


class Cli(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except MetalImagesError as exc:
            ui.console.print(f"[red]error:[/red] {exc.message}", markup=True, highlight=False)
            if exc.detail:
                ui.console.print("--- last lines of output ---", style="dim")
                ui.console.print(exc.detail, markup=False, highlight=False)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            ui.console.print("[red]interrupted[/red] (everything set up was torn down)")
            sys.exit(130)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="metal-images")
@click.option("-v", "--verbose", is_flag=True, help="Stream the output of every command run.")
@click.option("-q", "--quiet", is_flag=True, help="Only print results and errors.")
def main(verbose: bool, quiet: bool) -> None:
    """Build, prove, publish and mirror metal-stack operating system images.

    \b
    The pipeline, one verb per step:
      list / schema      the image catalog (images/<family>/image.yaml)
      build / shell      build a root tree; open a shell inside it
      export / check     img.tar.lz4 + checksums + manifests; contract rules
      test               install like metal-hammer, boot like kexec, check it
      publish / release  the image store (file:// or s3://); promote stable
      serve / store      serve a store over HTTP; list and diff it
      cache-sync         mirror images into a partition
    """
    ui.settings.verbose = verbose
    ui.settings.quiet = quiet


def _register() -> None:
    for area in COMMAND_MODULES:
        name = f"metal_images.commands.{area}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # that area is not built yet
            raise
        for command in module.COMMANDS:
            main.add_command(command)


_register()

if __name__ == "__main__":
    main()
