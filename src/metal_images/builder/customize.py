"""The customize stage: from a base tree to the finished image tree.

Order: copy the base tree, context overlay onto /, artifacts, extra packages (derived
images), steps in a chroot, services, the initrd rebuilt, the installer, `remove:` globs,
cleanup.
Everything that mounts is a context manager, so a failure unmounts before the stage
dir is deleted.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from metal_images import installer_bundle, runner, ui
from metal_images.builder import artifacts
from metal_images.builder.backends import backend_for
from metal_images.builder.cleanup import cleanup, cleanup_inputs, remove_globs
from metal_images.builder.initramfs import rebuild_initramfs
from metal_images.builder.overlay import overlay
from metal_images.builder.reaper import reaped
from metal_images.builder.stagekey import StageInputs, tree_digest
from metal_images.builder.stagestore import mounts_below
from metal_images.catalog import ImageSpec
from metal_images.chroot import chroot_argv, chroot_mounts, policy_rc_d
from metal_images.errors import MetalImagesError
from metal_images.files import file_digest

# bump when the way this module turns a spec into a tree changes
RECIPE = 1
STEP_DIR = "tmp/metal-images-steps"
HOST_RESOLV_CONF = Path("/etc/resolv.conf")


def _code_digest() -> dict[str, str]:
    """The builder code that shapes the tree is an input too: a fix to it rebuilds."""
    here = Path(__file__).resolve().parent
    names = ["customize.py", "overlay.py", "cleanup.py", "rootpath.py", "artifacts.py", "initramfs.py",
             # the backends install a derived image's packages here
             "backends.py", "bootstrap.py", "dnf.py", "repositories.py"]
    return {name: file_digest(here / name) for name in names if (here / name).is_file()}


def _installer_digest() -> dict[str, str]:
    base = installer_bundle.INSTALLER_PACKAGE.parent
    digest = {}
    for path in installer_bundle.installer_source_files():
        name = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
        digest[name] = file_digest(path)
    # the zipapp's entry point is code too (its Python version guard)
    digest["__main__.py"] = hashlib.sha256(installer_bundle.MAIN.encode()).hexdigest()
    return digest


def customize_inputs(spec: ImageSpec, base_key: str, distribution: str, suite: str) -> StageInputs:
    return {
        "recipe": RECIPE,
        "code": _code_digest(),
        "base": base_key,
        "apt_suite": f"{distribution}-{suite}",
        # what the overlays leave, path by path (a later context's file wins)
        "context": {rel: digest for d in spec.context_dirs for rel, digest in tree_digest(d).items()},
        "steps": {name: file_digest(path) for name, path in zip(spec.steps, spec.step_paths(), strict=True)},
        "args": spec.args,
        # packages of a derived image are installed here; a base image's go to bootstrap
        "packages": spec.packages if spec.from_ else [],
        "components": spec.components if spec.from_ else [],
        "kernel": spec.kernel if spec.from_ else None,
        "services": spec.services.model_dump(),
        "remove": spec.remove,
        "artifacts": [a.model_dump() for a in spec.artifacts],
        "installer": _installer_digest(),
        "cleanup": cleanup_inputs(),
    }


def step_environment(spec: ImageSpec) -> dict[str, str]:
    env = {
        "METAL_IMAGE_NAME": spec.name,
        "METAL_IMAGE_VERSION": spec.version,
        "METAL_IMAGE_FAMILY": spec.family,
        "METAL_IMAGE_ROLE": spec.role,
    }
    if spec.kernel:
        # the kernel package the image keeps (a derived image replacing its parent's purges the rest)
        env["METAL_IMAGE_KERNEL"] = spec.kernel
    env.update(spec.args)
    return env


def _in_chroot(root: Path, argv: list[str], env: dict[str, str] | None = None) -> None:
    runner.run(chroot_argv(root, argv, env))


def _run_steps(spec: ImageSpec, root: Path) -> None:
    step_dir = root / STEP_DIR
    step_dir.mkdir(parents=True, exist_ok=True)
    env = step_environment(spec)
    for index, (name, path) in enumerate(zip(spec.steps, spec.step_paths(), strict=True)):
        inside = step_dir / f"{index:02d}-{path.name}"
        shutil.copyfile(path, inside)
        inside.chmod(0o755)
        with ui.step(f"step {name}"):
            _in_chroot(root, ["/" + str(inside.relative_to(root))], env)
    shutil.rmtree(step_dir)


def _services(spec: ImageSpec, root: Path) -> None:
    services = spec.services
    if not (services.enable or services.disable or services.mask or services.default_target):
        return
    with ui.step("services"):
        for verb, units in (("enable", services.enable), ("disable", services.disable),
                            ("mask", services.mask)):
            if units:
                _in_chroot(root, ["systemctl", verb, *units])
        if services.default_target:
            _in_chroot(root, ["systemctl", "set-default", services.default_target])


def _check_one_kernel(spec: ImageSpec, root: Path) -> None:
    maps = sorted(p.name for p in (root / "boot").glob("System.map-*"))
    if len(maps) != 1:
        found = ", ".join(maps) or "none"
        raise MetalImagesError(
            f"{spec.family}: the image must hold exactly one kernel, /boot has: {found}"
        )


def run_customize(spec: ImageSpec, base_tree: Path, target: Path, *, distribution: str, suite: str,
                  has_kernel: bool, base: ImageSpec | None = None) -> None:
    """`base` is the root ancestor (its package world installs a derived image's packages)."""
    busy = mounts_below(base_tree)
    if busy:
        raise MetalImagesError(f"{base_tree} has mounts inside ({busy[0]}); is a `shell` open on it?")
    with ui.step("copy base tree"):
        runner.run(["cp", "-a", "--reflink=auto", str(base_tree), str(target)])
    # name resolution for apt and steps during the build; cleanup removes it again
    resolv = target / "etc/resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    if HOST_RESOLV_CONF.exists():
        shutil.copyfile(HOST_RESOLV_CONF, resolv)
    for context in spec.context_dirs:
        if context.is_dir():
            with ui.step("context overlay"):
                count = overlay(context, target)
                ui.detail(f"{count} entries from {context}")
    missing = artifacts.install_artifacts(spec, target)
    for name in missing:
        ui.warn(f"{spec.family}: artifact {name} left out")
    with chroot_mounts(target), policy_rc_d(target), reaped(target):
        if spec.from_:
            backend_for(distribution).install_packages(spec, base or spec, target)
        _run_steps(spec, target)
        _services(spec, target)
        # last in the chroot: the overlay, packages and steps all shape what the initrd reads
        if has_kernel:
            rebuild_initramfs(target)
    with ui.step("installer, remove, cleanup"):
        installer_bundle.write_install_sh(target)
        removed = remove_globs(target, spec.remove, f"{spec.family}/image.yaml")
        ui.detail(f"removed {len(removed)} paths")
        cleanup(target)
    if has_kernel:
        _check_one_kernel(spec, target)
