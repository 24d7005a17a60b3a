"""The dnf bootstrap backend against an RPM repository this test builds, signs and serves.

No RPM mirror is reachable from the build machines; rpmbuild, rpmsign, createrepo_c and
gpg are (Debian packages). The image is an `almalinux` image of a temp catalog whose
`{mirror}` is the loopback server.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from metal_images import paths
from metal_images.artifact import registry
from metal_images.artifact.exporter import ImageIdentity, export_tree
from metal_images.artifact.packages import installed_packages, packages_listing
from metal_images.builder.builder import build_image
from metal_images.builder.dnf import dnf_cache_dir
from metal_images.builder.stagestore import StageStore
from metal_images.catalog import load_catalog
from metal_images.contract.report import check_archive
from metal_images.errors import MetalImagesError
from tests.integration.rpmrepo import Package, Served, SigningKey, build_rpms, make_repository, serve

pytestmark = [pytest.mark.root]

FAMILY = "rpmtest"
MIRROR_ENV = "METAL_IMAGES_RPMTEST_MIRROR"
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static: a shell for the test image
PACKAGES = [
    Package("mi-release", "9.4", {"/etc/os-release": 'ID="almalinux"\nVERSION_ID="9.4"\n'}),
    # /bin/sh and /usr/bin/env: what rpm's scriptlets and the builder's chroot steps run with
    Package("mi-shell", "1.36", {}, provides=("/bin/sh",), copies={"/usr/bin/busybox": BUSYBOX},
            links={"/bin": "usr/bin", "/usr/bin/sh": "busybox", "/usr/bin/env": "busybox",
                   "/usr/bin/cat": "busybox", "/usr/bin/mkdir": "busybox"}),
    Package("mi-hello", "1.0", {"/usr/share/mi-hello/greeting": "hello from an rpm\n"},
            requires=("mi-release", "mi-shell"),
            post="mkdir -p /var/lib/mi-hello && echo \"post ran as $(cat /proc/self/comm)\" "
                 "> /var/lib/mi-hello/post"),
]
EXTRA = Package("mi-extra", "2.0", {"/usr/share/mi-extra/README": "added by a derived image\n"},
                requires=("mi-hello",))
STEP = "#!/bin/sh\nset -eu\necho \"step ran for $METAL_IMAGE_FAMILY\" > /etc/mi-step\n"


def _tools_missing() -> str | None:
    if os.geteuid() != 0:
        return "the dnf backend bind-mounts the package cache (needs root)"
    for tool in ("dnf", "rpm", "rpmbuild", "rpmsign", "createrepo_c", "gpg"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/bootstrap.sh installs it)"
    if not BUSYBOX.is_file():
        return "busybox-static is not installed (scripts/bootstrap.sh installs it)"
    return None


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path, Path]]:
    """(server, the good key, a key that signed nothing) over /good and /other-signer."""
    reason = _tools_missing()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("rpmrepo")
    good = SigningKey.create(work / "gnupg-good", "good@metal-images.invalid")
    other = SigningKey.create(work / "gnupg-other", "other@metal-images.invalid")
    rpms = build_rpms([*PACKAGES, EXTRA], work)
    site = work / "site"
    make_repository(site / "good", rpms, good)
    make_repository(site / "other-signer", rpms, other)
    good_key = good.export(work / "keys" / "good.asc")
    good.export(site / "good.asc")
    with serve(site) as served:
        # a mirrorlist (one URL a line) that names the good repository
        (site / "mirrorlist").write_text(f"{served.url}/good/\n")
        yield served, good_key, work


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temp work dir and package cache; the stage trees are removed afterwards."""
    monkeypatch.setenv("METAL_IMAGES_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("METAL_IMAGES_CACHE", str(tmp_path / "cache"))
    yield tmp_path
    shutil.rmtree(tmp_path / "work", ignore_errors=True)


def _catalog(root: Path, key: Path, url: str, gpgkey: str = "keys/good.asc", source: str = "baseurl") -> Path:
    """A catalog with the test image; `source`: baseurl or mirrorlist (then `url` is the list's)."""
    folder = root / "images" / FAMILY
    (folder / "keys").mkdir(parents=True)
    (folder / "steps").mkdir()
    shutil.copyfile(key, folder / "keys/good.asc")
    (folder / "steps/10-mark.sh").write_text(STEP)
    (folder / "steps/10-mark.sh").chmod(0o755)
    (folder / "image.yaml").write_text(
        f'name: {FAMILY}\nversion: "9"\ndistribution: almalinux\nreleasever: "9"\n'
        "repositories:\n"
        f"  - id: local\n    {source}: \"{url}\"\n    gpgkey: [\"{gpgkey}\"]\n"
        "packages: [mi-hello]\n"
        "steps: [steps/10-mark.sh]\n"
    )
    return root / "images"


def _rpm_query(root: Path) -> list[str]:
    out = subprocess.run(["rpm", f"--root={root}", "--dbpath=/var/lib/rpm", "-qa", "--qf", "%{NAME}\n"],
                         check=True, capture_output=True, text=True).stdout
    return sorted(out.split())


def test_bootstrap_with_gpgcheck_then_cache_hits(repos: tuple[Served, Path, Path], env: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    served, key, _ = repos
    monkeypatch.setenv(MIRROR_ENV, served.url)
    catalog = load_catalog(_catalog(env, key, "{mirror}/good/"))

    result = build_image(FAMILY, catalog=catalog)
    assert result.rebuilt == [f"{FAMILY}/bootstrap", f"{FAMILY}/customize"]
    root = result.rootfs
    assert (root / "usr/share/mi-hello/greeting").read_text() == "hello from an rpm\n"
    assert (root / "etc/os-release").is_file()  # the dependency came along
    # the key was imported into the image's rpm database: dnf verified the signatures with it
    assert _rpm_query(root) == ["gpg-pubkey", "mi-hello", "mi-release", "mi-shell"]
    # export's packages.txt and SBOM read the same database with the host's rpm
    listed = installed_packages(root)
    assert [(p.name, p.version, p.arch) for p in listed if p.name.startswith("mi-")] == [
        ("mi-hello", "1.0-1", "noarch"), ("mi-release", "9.4-1", "noarch"), ("mi-shell", "1.36-1", "x86_64")]
    assert "mi-hello-1.0-1.noarch\n" in packages_listing(root)
    # the scriptlet ran inside the tree, with its /proc mounted; the step ran in the chroot
    assert (root / "var/lib/mi-hello/post").read_text() == "post ran as cat\n"
    assert (root / "etc/mi-step").read_text() == f"step ran for {FAMILY}\n"
    assert (root / "etc/machine-id").read_text() == ""  # the build's id is gone
    assert not list((root / "var/cache/dnf").rglob("*.rpm"))
    cached = sorted(p.name for p in dnf_cache_dir(catalog.get(FAMILY)).rglob("*.rpm"))
    assert cached == ["mi-hello-1.0-1.noarch.rpm", "mi-release-9.4-1.noarch.rpm",
                      "mi-shell-1.36-1.x86_64.rpm"]
    assert len(served.fetched(".rpm")) == 3

    # nothing changed: both stages are cache hits
    assert build_image(FAMILY, catalog=load_catalog(catalog.root)).rebuilt == []

    # a forced rebuild reads the packages from the shared cache, not from the repository
    served.requests.clear()
    forced = build_image(FAMILY, catalog=load_catalog(catalog.root), force=True)
    assert forced.rebuilt == [f"{FAMILY}/bootstrap", f"{FAMILY}/customize"]
    assert served.fetched(".rpm") == []
    assert served.fetched("repomd.xml")  # metadata is fetched again

    # the export of an RPM tree: packages.txt and the SBOM from its rpm database; `check`
    # reads it as AlmaLinux and finds no Python for /install.sh (the test image has none)
    out = env / "export"
    export_tree(root, out, ImageIdentity(FAMILY, FAMILY, "9", "stable"))
    assert "mi-hello-1.0-1.noarch\n" in (out / registry.PACKAGES).read_text()
    sbom = json.loads((out / registry.SBOM).read_text())
    purls = {c.get("purl", "") for c in sbom["components"]}
    assert any(p.startswith("pkg:rpm/almalinux/mi-shell@1.36-1") for p in purls), purls
    results = {r.rule.id: r for r in check_archive(str(out / registry.IMAGE)).results}
    assert results["os-release"].status == "pass" and results["installer"].status == "pass"
    assert results["installer-python"].status == "fail"
    assert results["installer-python"].reason.startswith("/usr/bin/python3 missing")

    # a gpgkey given as a URL under the mirror works alike
    shutil.rmtree(env / "images")
    by_url = load_catalog(_catalog(env, key, "{mirror}/good/", gpgkey="{mirror}/good.asc"))
    assert build_image(FAMILY, catalog=by_url).rebuilt == [f"{FAMILY}/bootstrap", f"{FAMILY}/customize"]

    # ...and a repository given by a mirrorlist
    shutil.rmtree(env / "images")
    served.requests.clear()
    listed = load_catalog(_catalog(env, key, "{mirror}/mirrorlist", source="mirrorlist"))
    assert build_image(FAMILY, catalog=listed).rebuilt == [f"{FAMILY}/bootstrap", f"{FAMILY}/customize"]
    assert served.fetched("/mirrorlist") and served.fetched("/good/repodata/repomd.xml")


def _one_line_failure(catalog: Path) -> str:
    with pytest.raises(MetalImagesError) as failure:
        build_image(FAMILY, catalog=load_catalog(catalog))
    message = str(failure.value)
    assert "\n" not in message
    # a failed stage leaves no tree behind
    assert StageStore(FAMILY).existing("bootstrap") == []
    assert not [p for p in (paths.image_work_dir(FAMILY) / "stages").glob(".tmp-*")]
    return message


def test_wrong_signature_fails_in_one_line(repos: tuple[Served, Path, Path], env: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    served, key, _ = repos
    monkeypatch.setenv(MIRROR_ENV, served.url)
    message = _one_line_failure(_catalog(env, key, "{mirror}/other-signer/"))
    assert message.startswith(f"{FAMILY} bootstrap: package signature check failed: ")
    assert "mi-" in message  # names the package


def test_unreachable_repository_fails_in_one_line(repos: tuple[Served, Path, Path], env: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _, key, _ = repos
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(MIRROR_ENV, f"http://127.0.0.1:{port}")
    message = _one_line_failure(_catalog(env, key, "{mirror}/good/"))
    assert message.startswith(f"{FAMILY} bootstrap: repository 'local' (http://127.0.0.1:{port}/good/) "
                              "is unreachable")


def test_derived_image_installs_from_the_base_repositories(repos: tuple[Served, Path, Path], env: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    served, key, _ = repos
    monkeypatch.setenv(MIRROR_ENV, served.url)
    images = _catalog(env, key, "{mirror}/good/")
    (images / "rpmtest-extra").mkdir()
    (images / "rpmtest-extra/image.yaml").write_text(
        'name: rpmtest-extra\nversion: "9"\nfrom: rpmtest\npackages: [mi-extra]\n')

    result = build_image("rpmtest-extra", catalog=load_catalog(images))
    assert result.rebuilt == [f"{FAMILY}/bootstrap", f"{FAMILY}/customize", "rpmtest-extra/customize"]
    root = result.rootfs
    assert (root / "usr/share/mi-extra/README").read_text() == "added by a derived image\n"
    assert "mi-extra" in _rpm_query(root)
    assert (root / "etc/mi-step").is_file()  # the parent's tree underneath
    assert (root / "etc/machine-id").read_text() == ""
    assert not list((root / "var/cache/dnf").rglob("*.rpm"))
    assert served.fetched("/mi-extra-2.0-1.noarch.rpm")
    assert build_image("rpmtest-extra", catalog=load_catalog(images)).rebuilt == []


def test_missing_gpgkey_fails_in_one_line(repos: tuple[Served, Path, Path], env: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    served, key, _ = repos
    monkeypatch.setenv(MIRROR_ENV, served.url)
    message = _one_line_failure(_catalog(env, key, "{mirror}/good/", gpgkey="{mirror}/missing.asc"))
    assert message == (f"{FAMILY} bootstrap: repository 'local': its gpgkey {served.url}/missing.asc "
                       "cannot be fetched: Status code: 404")


def test_unknown_package_fails_in_one_line(repos: tuple[Served, Path, Path], env: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    served, key, _ = repos
    monkeypatch.setenv(MIRROR_ENV, served.url)
    catalog = _catalog(env, key, "{mirror}/good/")
    spec_file = catalog / FAMILY / "image.yaml"
    spec_file.write_text(spec_file.read_text().replace("[mi-hello]", "[mi-hello, mi-nope]"))
    assert _one_line_failure(catalog) == f"{FAMILY} bootstrap: no repository has package(s): mi-nope"
