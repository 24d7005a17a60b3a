"""The bootstrap stage for Debian and Ubuntu: mmdebstrap against the real archive.

No archive host is written here: without `mirror:` mmdebstrap picks the distribution's
own archive and, for Debian, adds the -updates and -security suites itself. Downloaded
.debs live in a package cache shared by all builds (`~/.cache/metal-images/apt/<dist>-<suite>`):
synced into the new tree before apt runs and back out before mmdebstrap cleans up.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from metal_images import paths, runner, ui
from metal_images.builder.aptsources import add_components
from metal_images.builder.stagekey import StageInputs
from metal_images.builder.tools import tool_version
from metal_images.catalog import ImageSpec
from metal_images.chroot import chroot_argv, mount
from metal_images.files import file_digest

# bump when the way this module turns a spec into a tree changes
RECIPE = 1
ARCHIVES = "/var/cache/apt/archives"


def apt_cache_dir(distribution: str, suite: str) -> Path:
    path = paths.cache_dir() / "apt" / f"{distribution}-{suite}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_list(spec: ImageSpec) -> list[str]:
    packages = list(spec.packages)
    if spec.kernel and spec.kernel not in packages:
        packages.append(spec.kernel)
    return packages


def mmdebstrap_argv(spec: ImageSpec, target: Path, cache: Path) -> list[str]:
    assert spec.suite is not None
    argv = [
        "mmdebstrap",
        "--mode=root",
        "--architectures=amd64",
        f"--variant={spec.variant}",
        f"--components={' '.join(spec.components)}",
        # keep the downloaded .debs (also the essential ones) for the shared cache
        "--skip=download/empty",
        "--skip=essential/unlink",
        f"--setup-hook=mkdir -p \"$1\"{ARCHIVES}",
        f"--setup-hook=sync-in {shlex.quote(str(cache))} {ARCHIVES}",
        f"--customize-hook=sync-out {ARCHIVES} {shlex.quote(str(cache))}",
    ]
    packages = package_list(spec)
    if packages:
        argv.append(f"--include={','.join(packages)}")
    if spec.keyring:
        argv.append(f"--keyring={spec.folder / spec.keyring}")
    argv += [spec.suite, str(target)]
    if spec.mirror:
        argv.append(spec.mirror)
    return argv


def bootstrap_inputs(spec: ImageSpec) -> StageInputs:
    return {
        "recipe": RECIPE,
        "backend": "mmdebstrap",
        "mmdebstrap": tool_version("mmdebstrap"),
        "distribution": spec.distribution,
        "suite": spec.suite,
        "mirror": spec.mirror,
        "variant": spec.variant,
        "components": spec.components,
        "packages": package_list(spec),
        "keyring": file_digest(spec.folder / spec.keyring) if spec.keyring else None,
    }


def run_bootstrap(spec: ImageSpec, target: Path) -> None:
    assert spec.distribution is not None and spec.suite is not None
    cache = apt_cache_dir(spec.distribution, spec.suite)
    runner.run(mmdebstrap_argv(spec, target, cache))


def apt_install(spec: ImageSpec, root: Path, cache: Path) -> None:
    """A derived image's packages, with apt in the chroot and the shared .deb cache mounted."""
    packages = package_list(spec)
    if not packages:
        return
    if "components" in spec.model_fields_set:
        added = add_components(root, spec.components, f"{spec.family}/image.yaml")
        if added:
            ui.detail(f"archive components added: {' '.join(added)}")
    archives = root / ARCHIVES.lstrip("/")
    with ui.step(f"install {len(packages)} packages"), mount(str(cache), archives, bind=True):
        runner.run(chroot_argv(root, ["apt-get", "update", "-q"]))
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
        runner.run(chroot_argv(root, install))


class MmdebstrapBackend:
    """Debian and Ubuntu: mmdebstrap for the base tree, apt in the chroot for derived images."""

    name = "mmdebstrap"

    def inputs(self, spec: ImageSpec) -> StageInputs:
        return bootstrap_inputs(spec)

    def bootstrap(self, spec: ImageSpec, target: Path) -> None:
        run_bootstrap(spec, target)

    def install_packages(self, spec: ImageSpec, base: ImageSpec, root: Path) -> None:
        apt_install(spec, root, apt_cache_dir(base.distribution or "debian", base.suite or ""))

    def tools(self) -> dict[str, str]:
        return {"mmdebstrap": tool_version("mmdebstrap")}
