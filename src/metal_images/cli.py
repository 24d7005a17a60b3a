"""The `metal-images` command line: parse arguments, call one function per verb.

Each area defines its verbs in `metal_images/commands/<area>.py` as `COMMANDS`. A verb's
module is imported only when that verb runs (or --help lists them all), so a short verb
like `cache-sync run` does not pay for importing the builder, the VM harness and pytest.
"""

from __future__ import annotations

import importlib
import sys

import click

from metal_images import __version__, ui
from metal_images.errors import MetalImagesError

# verb -> the area module (metal_images.commands.<area>) whose COMMANDS define it
COMMAND_AREAS = {
    "list": "catalog", "schema": "catalog",
    "build": "build", "shell": "build",
    "export": "export", "check": "export", "diff": "diff",
    "test": "test",
    "publish": "store", "release": "store", "serve": "store", "store": "store",
    "cache-sync": "cachesync",
}


def load_command(name: str) -> click.Command | None:
    area = COMMAND_AREAS.get(name)
    if area is None:
        return None
    module = importlib.import_module(f"metal_images.commands.{area}")
    return next((c for c in module.COMMANDS if c.name == name), None)


class Cli(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_AREAS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except MetalImagesError as exc:
            ui.error(exc.message, reproduce=getattr(exc, "reproduce", ""))
            if exc.detail:
                ui.console.print("--- last lines of output ---", style="dim")
                ui.console.print(exc.detail)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            ui.console.print(ui.labelled("interrupted", "red", " (everything set up was torn down)"))
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
      diff               what differs between two trees or archives, path by path
      test               install like metal-hammer, boot like kexec, check it
      publish / release  the image store (file:// or s3://); promote stable
      serve / store      serve a store over HTTP; list and diff it
      cache-sync         mirror images into a partition
    """
    ui.settings.verbose = verbose
    ui.settings.quiet = quiet


if __name__ == "__main__":
    main()
