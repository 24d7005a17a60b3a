"""`metal-images test`: install an image like metal-hammer, boot it like kexec, check it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from metal_images import paths, ui
from metal_images.artifact.registry import IMAGE
from metal_images.errors import ConfigError, MetalImagesError
from metal_images.identity import find_exports
from metal_images.proof import harness


def resolve_artifact(name: str) -> tuple[str, str, str | None]:
    """NAME|ARTIFACT -> (artifact path or URL, output label, catalog role or None)."""
    if name.startswith(("http://", "https://")) or name.endswith(".lz4") or "/" in name:
        label = Path(name).parent.name or "artifact"
        return name, label, None
    from metal_images.catalog import load_catalog

    spec = load_catalog().get(name)
    output = paths.output_dir()
    images = [ref.directory(output) / IMAGE for ref in find_exports(output, spec.name, spec.version)]
    candidates = sorted((p for p in images if p.is_file()), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise ConfigError(f"no export of {name} under {output}/<channel>/{spec.name}/"
                          f"{spec.version}/{IMAGE} (run `metal-images export {spec.family}` first)")
    return str(candidates[-1]), spec.family, spec.role  # the newest export of any channel


@click.command("test")
@click.argument("image")
@click.option("--role", type=click.Choice(["machine", "firewall"]), default=None,
              help="Test profile (default: the catalog's role, else machine).")
@click.option("--uefi", is_flag=True, help="Boot through OVMF and the GRUB the installer set up "
              "(the installer then runs without INSTALL_FROM_CI, so grub-install runs).")
@click.option("--keep", is_flag=True, help="Leave the VM running after the checks; prints how to SSH in.")
@click.option("--install-yaml", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="install.yaml fixture (default: the built-in one for the role).")
@click.option("--userdata", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="userdata fixture (default: the built-in Ignition one).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output directory (default: build/<name>/test).")
@click.option("--boot-timeout", type=float, help="Seconds to wait for SSH (default 300 KVM / 900 TCG).")
def test_command(image: str, role: str | None, uefi: bool, keep: bool, install_yaml: Path | None,
                 userdata: Path | None, out: Path | None, boot_timeout: float | None) -> None:
    """Install IMAGE like metal-hammer, boot it like kexec and prove it works.

    \b
    IMAGE is a catalog image (family like `debian`, or id like `debian-12`) with an export
    (images/<channel>/<os>/<version>/), or a path/URL to an img.tar.lz4 with its .md5
    beside it. Needs root, qemu, FRR, dnsmasq.
    \b
    1. a sparse raw disk with a GPT (efi, root), formatted and mounted as the hammer does;
       the image pulled over HTTP from 127.0.0.1 with the md5 check, extracted with the
       hammer's tar semantics; install.yaml (fresh SSH key) + userdata; the image's
       installer run in a chroot; boot-info.yaml read; /etc/fstab written; unmounted.
    2. qemu with exactly boot-info's kernel, initrd and cmdline (or OVMF+GRUB with
       --uefi), two NICs on a switch namespace running FRR (BGP unnumbered, default
       route), dnsmasq, SNTP and an HTTP endpoint; SSH as metal over the BGP route.
    3. property checks with pytest-testinfra (contract 9.2 and more).
    \b
    Output (build/<name>/test/): summary.txt, junit.xml, console.log (ttyS1),
    phases.json (time of install, boot to SSH, checks). Exit 1 if any check fails.
    """
    artifact, label, catalog_role = resolve_artifact(image)
    chosen_role = role or catalog_role or "machine"
    options = harness.TestOptions(
        role=chosen_role, uefi=uefi, keep=keep,
        install_yaml=install_yaml or harness.default_install_yaml(chosen_role),
        userdata=userdata or harness.default_userdata(chosen_role), boot_timeout=boot_timeout)
    target = out or paths.image_work_dir(label) / ("test-uefi" if uefi else "test")
    report = harness.run_test(artifact, target, options)
    ui.info(f"report: {target}/summary.txt, {target}/junit.xml, console: {target}/console.log")
    if not report.ok:
        raise MetalImagesError(f"{len(report.failed)} of {len(report.results)} checks failed "
                               f"(see {target}/summary.txt)")
    ui.info(f"all {len(report.results)} checks passed")
    sys.stdout.flush()


COMMANDS: list[click.Command] = [test_command]
