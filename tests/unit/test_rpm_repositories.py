"""RPM images in image.yaml: repositories, mirrors the user sets, the .repo file dnf reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from metal_images.builder.backends import backend_for
from metal_images.builder.dnf import DnfBackend, dnf_inputs, explain_failure
from metal_images.builder.repositories import repo_file, resolve
from metal_images.catalog import ImageSpec, load_catalog
from metal_images.errors import ConfigError, MetalImagesError
from tests.unit.catalog_helpers import write_family

RPM_YAML = """\
name: alma
version: "9"
distribution: almalinux
releasever: "9"
repositories:
  - id: baseos
    baseurl: "{mirror}/$releasever/BaseOS/$basearch/os/"
    gpgkey: ["{mirror}/RPM-GPG-KEY-9", "keys/extra.asc"]
  - id: epel
    name: EPEL 9
    mirrorlist: "{epel}/mirrorlist"
    gpgkey: ["{epel}/RPM-GPG-KEY-EPEL-9"]
packages: [bash]
"""


def _spec(tmp_path: Path, text: str = RPM_YAML, family: str = "alma") -> ImageSpec:
    folder = write_family(tmp_path / "images", family, text)
    (folder / "keys").mkdir(exist_ok=True)
    (folder / "keys/extra.asc").write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")
    return load_catalog(tmp_path / "images").get(family)


def test_mirrors_from_the_environment_fill_the_repo_file(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    env = {"METAL_IMAGES_ALMA_MIRROR": "http://10.0.0.1/alma/", "METAL_IMAGES_ALMA_MIRROR_EPEL": "file:///srv/epel"}
    text = repo_file(resolve(spec, env))
    key = (tmp_path / "images/alma/keys/extra.asc").resolve().as_uri()
    assert text == (
        "[baseos]\nname=baseos\nbaseurl=http://10.0.0.1/alma/$releasever/BaseOS/$basearch/os/\n"
        "enabled=1\ngpgcheck=1\nrepo_gpgcheck=0\nskip_if_unavailable=0\n"
        f"gpgkey=http://10.0.0.1/alma/RPM-GPG-KEY-9 {key}\n"
        "\n"
        "[epel]\nname=EPEL 9\nmirrorlist=file:///srv/epel/mirrorlist\n"
        "enabled=1\ngpgcheck=1\nrepo_gpgcheck=0\nskip_if_unavailable=0\n"
        "gpgkey=file:///srv/epel/RPM-GPG-KEY-EPEL-9\n"
    )


def test_environment_wins_over_image_yaml(tmp_path: Path) -> None:
    text = RPM_YAML + "mirror: http://from-yaml.invalid/alma\nmirrors:\n  epel: http://from-yaml.invalid/epel\n"
    spec = _spec(tmp_path, text)
    repos = resolve(spec, {"METAL_IMAGES_ALMA_MIRROR": "http://from-env.invalid/alma"})
    assert repos[0].baseurl == "http://from-env.invalid/alma/$releasever/BaseOS/$basearch/os/"
    assert repos[1].mirrorlist == "http://from-yaml.invalid/epel/mirrorlist"


def test_no_mirror_names_the_setting(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    with pytest.raises(ConfigError) as failure:
        resolve(spec, {"METAL_IMAGES_ALMA_MIRROR": "http://10.0.0.1/alma"})
    assert str(failure.value).endswith(
        "repositories.1.mirrorlist: no mirror for {epel}: set METAL_IMAGES_ALMA_MIRROR_EPEL "
        "(or `mirrors.epel:` in " + str(tmp_path / "images/alma/image.yaml") + ")"
    )


BAD_MIRRORS = ["http://a b", "http://a\n[evil]", "ftp://host/x", "http://host/\"x", "/srv/plain"]


@pytest.mark.parametrize("value", BAD_MIRRORS)
def test_bad_mirror_values_are_refused(tmp_path: Path, value: str) -> None:
    spec = _spec(tmp_path)
    env = {"METAL_IMAGES_ALMA_MIRROR": value, "METAL_IMAGES_ALMA_MIRROR_EPEL": "http://ok/epel"}
    with pytest.raises(ConfigError) as failure:
        resolve(spec, env)
    assert str(failure.value).startswith("environment variable METAL_IMAGES_ALMA_MIRROR: ")
    assert "\n" not in str(failure.value).replace(value, "")


BAD = [
    ("repositories on debian",
     'name: d\nversion: "1"\ndistribution: debian\nsuite: bookworm\n'
     'repositories: [{id: x, baseurl: "http://h/", gpgkey: ["http://h/k"]}]\n',
     "`repositories` are for RPM images"),
    ("no releasever", 'name: a\nversion: "9"\ndistribution: almalinux\n', "needs a `releasever`"),
    ("no repositories", 'name: a\nversion: "9"\ndistribution: almalinux\nreleasever: "9"\n',
     "needs `repositories`"),
    ("baseurl and mirrorlist", RPM_YAML.replace('    mirrorlist: "{epel}/mirrorlist"\n',
                                                 '    mirrorlist: "{epel}/m"\n    baseurl: "{epel}/b"\n'),
     "exactly one of `baseurl` or `mirrorlist`"),
    ("gpgcheck without a key", RPM_YAML.replace('    gpgkey: ["{epel}/RPM-GPG-KEY-EPEL-9"]\n', ""),
     "`gpgcheck` needs a `gpgkey`"),
    ("key outside the folder", RPM_YAML.replace("keys/extra.asc", "../other/key.asc"),
     "is neither a URL nor a file name relative to the folder"),
    ("missing key file", RPM_YAML.replace("keys/extra.asc", "keys/missing.asc"),
     "repositories.0.gpgkey.1: file"),
    ("newline in a URL", RPM_YAML.replace("/os/", '/os/\\n[x]'), "repositories.0.baseurl"),
    ("bad repository id", RPM_YAML.replace("id: epel", "id: 'ep el'"), "repositories.1.id"),
    ("bad mirror name", RPM_YAML + "mirrors:\n  Bad-Name: http://h/\n", "mirrors: 'Bad-Name'"),
    # a "package" that is an option would turn dnf's gpgcheck off
    ("option as a package", RPM_YAML.replace("packages: [bash]", 'packages: [bash, "--setopt=gpgcheck=0"]'),
     "packages.1: String should match pattern"),
    ("option as the kernel", RPM_YAML + 'kernel: "--nogpgcheck"\n', "kernel: String should match pattern"),
]


@pytest.mark.parametrize(("text", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_rpm_image_yaml(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as failure:
        _spec(tmp_path, text)
    message = str(failure.value)
    assert expected in message and "\n" not in message
    assert message.startswith(str(tmp_path / "images/alma/image.yaml"))


def test_a_symlinked_key_cannot_leave_the_folder(tmp_path: Path) -> None:
    folder = write_family(tmp_path / "images", "alma", RPM_YAML)
    (folder / "keys").mkdir()
    (tmp_path / "secret").write_text("x")
    (folder / "keys/extra.asc").symlink_to(tmp_path / "secret")
    with pytest.raises(ConfigError, match="does not exist in the image folder"):
        load_catalog(tmp_path / "images").get("alma")


def test_stage_inputs_count_a_key_file_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAL_IMAGES_ALMA_MIRROR", "http://10.0.0.1/alma")
    monkeypatch.setenv("METAL_IMAGES_ALMA_MIRROR_EPEL", "http://10.0.0.1/epel")
    spec = _spec(tmp_path)
    before = dnf_inputs(spec)
    keys = before["repositories"][0]["gpgkey"]
    assert keys[0] == "http://10.0.0.1/alma/RPM-GPG-KEY-9" and keys[1].startswith("sha256:")
    assert str(tmp_path) not in str(before)  # the checkout's path is no input
    (tmp_path / "images/alma/keys/extra.asc").write_text("another key\n")
    assert dnf_inputs(spec)["repositories"][0]["gpgkey"][1] != keys[1]
    monkeypatch.setenv("METAL_IMAGES_ALMA_MIRROR", "http://10.0.0.2/alma")
    assert dnf_inputs(spec)["repositories"] != before["repositories"]


def test_backends_by_distribution() -> None:
    assert backend_for("debian").name == backend_for("ubuntu").name == "mmdebstrap"
    assert isinstance(backend_for("almalinux"), DnfBackend) and isinstance(backend_for("centos"), DnfBackend)
    with pytest.raises(MetalImagesError, match="no bootstrap backend for distribution 'gentoo'"):
        backend_for("gentoo")


def test_dnf_failures_become_one_line() -> None:
    assert explain_failure("alma bootstrap", "Error: No match for argument: nosuchpkg\n", []) == (
        "alma bootstrap: no repository has package(s): nosuchpkg")
    unsigned = "Package x-1.rpm is not signed\nError: GPG check FAILED\n"
    assert explain_failure("alma bootstrap", unsigned, []) == (
        "alma bootstrap: package signature check failed: Package x-1.rpm is not signed")
    key_down = ("retrieving repo key for epel unencrypted from http://10.0.0.1/epel/KEY\n"
                "Curl error (7): Couldn't connect to server for http://10.0.0.1/epel/KEY [refused]\n")
    assert explain_failure("alma bootstrap", key_down, []) == (
        "alma bootstrap: repository 'epel': its gpgkey http://10.0.0.1/epel/KEY cannot be fetched: "
        "Curl error (7): Couldn't connect to server")
    assert explain_failure("alma bootstrap", "Error: Transaction test error\n", []) is None


@pytest.mark.parametrize("family", ["almalinux", "centos"])
def test_catalog_rpm_images_name_their_mirror(family: str) -> None:
    spec = load_catalog().get(family)
    assert spec.distribution == family and spec.releasever == spec.version
    with pytest.raises(ConfigError) as failure:
        resolve(spec, {})
    assert f"set METAL_IMAGES_{family.upper()}_MIRROR " in str(failure.value)
    env = {f"METAL_IMAGES_{family.upper()}_MIRROR": "http://127.0.0.1:8080/m"}
    env |= {f"METAL_IMAGES_{family.upper()}_MIRROR_{n.upper()}": f"http://127.0.0.1:8080/{n}"
            for n in ("epel", "frr", "frr_key", "docker")}
    repos = resolve(spec, env)
    assert all(r.gpgcheck and r.gpgkeys for r in repos)
    assert {"epel", "frr"} <= {r.id for r in repos}
