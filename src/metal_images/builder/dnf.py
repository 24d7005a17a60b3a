"""The bootstrap stage for AlmaLinux and CentOS: the host's dnf installs into an empty root.

`dnf --installroot` with a dnf.conf and a .repo file of our own (outside the tree), so the
only repositories are the image's (builder/repositories.py) and gpgcheck is on for each
one that does not turn it off. The host's rpm keeps its database where the image's rpm
looks (/var/lib/rpm), not where Debian's rpm keeps its own (~/.rpmdb).

A derived image (`from:` an RPM image) installs its packages the same way into its
customize tree, from the base image's repositories.

Downloaded .rpms live in a package cache shared by all builds
(`~/.cache/metal-images/dnf/<distribution>-<releasever>`), bind-mounted on the tree's
/var/cache/dnf while dnf runs, so the tree keeps none of them and a rebuild downloads
only the repository metadata again.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path

from metal_images import paths, runner, ui
from metal_images.builder.bootstrap import package_list
from metal_images.builder.repositories import ResolvedRepository, resolve, write_repo_file
from metal_images.builder.stagekey import StageInputs
from metal_images.builder.tools import tool_version
from metal_images.catalog import ImageSpec
from metal_images.chroot import chroot_mounts, mount
from metal_images.errors import CommandError, MetalImagesError
from metal_images.files import file_digest

# bump when the way this module turns a spec into a tree changes
RECIPE = 1
DNF_CACHE = "/var/cache/dnf"
# kernel-install puts the kernel and its initramfs into /boot only with a machine id (as
# upstream's Dockerfile notes); the customize stage's cleanup empties it again
BUILD_MACHINE_ID = "7b9f54e12f3b4f06a34c9d0f4b0e68c2\n"
RPM_MACROS = "%_dbpath /var/lib/rpm\n"


def dnf_cache_dir(spec: ImageSpec) -> Path:
    path = paths.cache_dir() / "dnf" / f"{spec.distribution}-{spec.releasever}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def dnf_conf(reposdir: Path) -> str:
    return "\n".join([
        "[main]",
        "gpgcheck=1",
        "install_weak_deps=0",
        "keepcache=1",
        f"cachedir={DNF_CACHE}",
        f"reposdir={reposdir}",
        "skip_if_unavailable=0",
        # the .rpms come from the shared cache, the metadata always anew: a build sees the
        # repository as it is now (a cached repomd.xml would hide updates for 48 h); dnf
        # counts the age in whole seconds, so --refresh (dnf_argv) makes it certain
        "metadata_expire=0",
        "",
    ])


def dnf_argv(base: ImageSpec, root: Path, config: Path, packages: list[str]) -> list[str]:
    assert base.releasever is not None
    return [
        "dnf", "-y",
        f"--config={config}",
        f"--installroot={root}",
        f"--releasever={base.releasever}",
        "--forcearch=x86_64",
        "--refresh",
        "install", *packages,
    ]


def _key_inputs(spec: ImageSpec, repo: ResolvedRepository) -> list[str]:
    """A key file counts by its content (the folder's path differs per checkout), a URL as itself."""
    keys = []
    for key in repo.gpgkeys:
        if key.startswith("file://") and Path(key.removeprefix("file://")).is_relative_to(spec.folder.resolve()):
            keys.append("sha256:" + file_digest(Path(key.removeprefix("file://"))))
        else:
            keys.append(key)
    return keys


def dnf_inputs(spec: ImageSpec) -> StageInputs:
    return {
        "recipe": RECIPE,
        "backend": "dnf",
        "dnf": tool_version("dnf"),
        "rpm": tool_version("rpm"),
        "distribution": spec.distribution,
        "releasever": spec.releasever,
        "repositories": [
            {"id": r.id, "baseurl": r.baseurl, "mirrorlist": r.mirrorlist, "gpgcheck": r.gpgcheck,
             "gpgkey": _key_inputs(spec, r)}
            for r in resolve(spec)
        ],
        "packages": package_list(spec),
    }


FAILED_REPO = re.compile(r"Failed to download metadata for repo '([^']+)'(?::\s*(.*))?")
NO_MATCH = re.compile(r"No match for argument: (\S+)")
KEY_FETCH = re.compile(r"retrieving repo key for (\S+) .*from (\S+)")
FETCH_ERROR = re.compile(r"(Status code: \d+|Curl error \(\d+\): .*?) for ")
SIGNATURE_LINES = (
    re.compile(r"Public key for \S+ is not installed"),
    re.compile(r"Package \S+ is not signed"),
    re.compile(r"The GPG keys listed for the .* repository are already installed but they are not correct"),
    re.compile(r"Public key \S+ is not installed"),
)


def explain_failure(where: str, output: str, repositories: list[ResolvedRepository]) -> str | None:
    """One line (prefixed by `where`, e.g. `almalinux bootstrap`) for the failures a user can
    fix: a mirror that is down, a key that cannot be fetched or does not match, a package name."""
    urls = {r.id: r.baseurl or r.mirrorlist or "" for r in repositories}
    lines = output.splitlines()
    for line in lines:
        match = FAILED_REPO.search(line)
        if match:
            repo = match.group(1)
            reason = (match.group(2) or "").strip().rstrip(".")
            return f"{where}: repository '{repo}' ({urls.get(repo, '?')}) is unreachable: {reason}"
    for index, line in enumerate(lines):
        key = KEY_FETCH.search(line)
        if key is None:
            continue
        failed = next((m for later in lines[index + 1:] for m in [FETCH_ERROR.search(later)] if m), None)
        if failed:
            return (f"{where}: repository '{key.group(1)}': its gpgkey {key.group(2)} "
                    f"cannot be fetched: {failed.group(1)}")
    if any("GPG check FAILED" in line for line in lines):
        detail = next((line.strip() for line in lines for pattern in SIGNATURE_LINES if pattern.search(line)),
                      "a package's signature does not match the repository's gpgkey")
        return f"{where}: package signature check failed: {detail}"
    missing = [m.group(1) for line in lines for m in [NO_MATCH.search(line)] if m]
    if missing:
        return f"{where}: no repository has package(s): {', '.join(missing)}"
    return None


def dnf_install(spec: ImageSpec, base: ImageSpec, root: Path, packages: list[str], *, stage: str) -> None:
    """The host's dnf installs `packages` into `root` from `base`'s repositories; `spec` is the
    image being built (its work dir keeps dnf's host config). In the bootstrap stage /proc,
    /sys and /dev are mounted here for the scriptlets (customize has them mounted already)."""
    repositories = resolve(base)  # a missing mirror fails before anything is written
    cache = dnf_cache_dir(base)
    machine_id = root / "etc/machine-id"
    machine_id.parent.mkdir(parents=True, exist_ok=True)
    if not machine_id.is_file() or not machine_id.read_text().strip():
        machine_id.unlink(missing_ok=True)
        machine_id.write_text(BUILD_MACHINE_ID)
    # the host side of dnf's configuration, kept (rewritten each run) so that the line
    # a failure prints reproduces it
    host = paths.image_work_dir(spec.family) / "dnf-host"
    write_repo_file(host / "repos.d" / "image.repo", repositories)
    (host / "dnf.conf").write_text(dnf_conf(host / "repos.d"))
    (host / ".rpmmacros").write_text(RPM_MACROS)  # read from $HOME by the host's rpm
    argv = dnf_argv(base, root, host / "dnf.conf", packages)
    env = {"HOME": str(host), "LC_ALL": "C.UTF-8"}
    with ExitStack() as mounts:
        if stage == "bootstrap":
            mounts.enter_context(chroot_mounts(root))
        mounts.enter_context(mount(str(cache), root / DNF_CACHE.lstrip("/"), bind=True))
        result = runner.run(argv, env=env, check=False)
    if result.returncode != 0:
        line = explain_failure(f"{spec.family} {stage}", result.output, repositories)
        if line:
            raise MetalImagesError(line, detail="\n".join(result.output.splitlines()[-15:]))
        raise CommandError(f"command failed with exit code {result.returncode}: dnf",
                           reproduce=runner.reproduce_line(argv, None, env),
                           detail="\n".join(result.output.splitlines()[-25:]))


class DnfBackend:
    """AlmaLinux and CentOS: the host's dnf into an empty root, from the image's repositories."""

    name = "dnf"

    def inputs(self, spec: ImageSpec) -> StageInputs:
        return dnf_inputs(spec)

    def bootstrap(self, spec: ImageSpec, target: Path) -> None:
        with ui.step(f"dnf: {len(package_list(spec))} packages from {len(spec.repositories)} repositories"):
            dnf_install(spec, spec, target, package_list(spec), stage="bootstrap")

    def install_packages(self, spec: ImageSpec, base: ImageSpec, root: Path) -> None:
        packages = package_list(spec)
        if packages:
            with ui.step(f"dnf: {len(packages)} packages from {base.family}'s repositories"):
                dnf_install(spec, base, root, packages, stage="customize")

    def tools(self) -> dict[str, str]:
        return {"dnf": tool_version("dnf"), "rpm": tool_version("rpm")}
