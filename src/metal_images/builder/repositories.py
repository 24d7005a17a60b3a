"""RPM repositories of an image: mirror placeholders filled in, rendered as a dnf .repo file.

No repository host is written in the catalog: a URL in image.yaml starts with (or holds)
`{mirror}` or `{<name>}`, and the user says where that is. For image family `almalinux`:

  {mirror}   env METAL_IMAGES_ALMALINUX_MIRROR        else image.yaml `mirror:`
  {epel}     env METAL_IMAGES_ALMALINUX_MIRROR_EPEL   else image.yaml `mirrors: {epel: ...}`

The environment wins, so a committed image.yaml never has to carry a site's mirror.
Every value is checked before anything is written: the .repo file is a config file dnf
parses line by line, so a newline or a space in a URL must never reach it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from metal_images.catalog import ImageSpec
from metal_images.catalog.loader import _display as display_path
from metal_images.errors import ConfigError

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
# what a filled-in URL may look like: a scheme dnf fetches from, no whitespace, quotes or controls
_URL_CHAR = r"[^\s\"'\\`\x00-\x1f\x7f]"
RESOLVED_URL = re.compile(rf"^(https?://(?:(?!/){_URL_CHAR})+|file://)/{_URL_CHAR}*$")


@dataclass(frozen=True)
class ResolvedRepository:
    id: str
    name: str
    baseurl: str | None
    mirrorlist: str | None
    gpgkeys: tuple[str, ...]
    gpgcheck: bool


def _family_env(family: str) -> str:
    return "METAL_IMAGES_" + re.sub(r"[^A-Z0-9]", "_", family.upper())


def mirror_setting(spec: ImageSpec, name: str) -> tuple[str, str]:
    """(environment variable, image.yaml key) that set mirror `name` for this image."""
    base = _family_env(spec.family) + "_MIRROR"
    if name == "mirror":
        return base, "mirror"
    return f"{base}_{name.upper()}", f"mirrors.{name}"


def _spec_file(spec: ImageSpec) -> str:
    return display_path(spec.folder / "image.yaml")


def mirror_value(spec: ImageSpec, name: str, env: Mapping[str, str], where: str) -> str:
    variable, key = mirror_setting(spec, name)
    value = env.get(variable)
    source = f"environment variable {variable}"
    if not value:
        value = spec.mirror if name == "mirror" else spec.mirrors.get(name)
        source = f"{_spec_file(spec)}: {key}"
    if not value:
        raise ConfigError(
            f"{_spec_file(spec)}: {where}: no mirror for {{{name}}}: set {variable} "
            f"(or `{key}:` in {_spec_file(spec)})"
        )
    value = value.rstrip("/")
    if not RESOLVED_URL.match(value + "/"):
        raise ConfigError(f"{source}: '{value}' is not an http(s):// or file:// URL without spaces or quotes")
    return value


def fill(spec: ImageSpec, template: str, env: Mapping[str, str], where: str) -> str:
    url = PLACEHOLDER.sub(lambda m: mirror_value(spec, m.group(1), env, where), template)
    if not RESOLVED_URL.match(url):
        raise ConfigError(f"{_spec_file(spec)}: {where}: '{url}' is not an http(s):// or file:// URL")
    return url


def _gpgkey_url(spec: ImageSpec, key: str, env: Mapping[str, str], where: str) -> str:
    if "://" in key or key.startswith("{"):
        return fill(spec, key, env, where)
    return (spec.folder / key).resolve().as_uri()


def resolve(spec: ImageSpec, env: Mapping[str, str] | None = None) -> list[ResolvedRepository]:
    """Every repository with its mirrors filled in; the first missing or bad one raises."""
    environ = os.environ if env is None else env
    resolved = []
    for index, repo in enumerate(spec.repositories):
        where = f"repositories.{index}"
        baseurl = fill(spec, repo.baseurl, environ, f"{where}.baseurl") if repo.baseurl else None
        mirrorlist = fill(spec, repo.mirrorlist, environ, f"{where}.mirrorlist") if repo.mirrorlist else None
        keys = tuple(_gpgkey_url(spec, key, environ, f"{where}.gpgkey.{n}")
                     for n, key in enumerate(repo.gpgkey))
        resolved.append(
            ResolvedRepository(repo.id, repo.name or repo.id, baseurl, mirrorlist, keys, repo.gpgcheck)
        )
    return resolved


def repo_file(repositories: list[ResolvedRepository]) -> str:
    """The dnf .repo file; every value was validated above (no newlines, no spaces)."""
    sections = []
    for repo in repositories:
        lines = [f"[{repo.id}]", f"name={repo.name}"]
        if repo.baseurl:
            lines.append(f"baseurl={repo.baseurl}")
        if repo.mirrorlist:
            lines.append(f"mirrorlist={repo.mirrorlist}")
        lines += [
            "enabled=1",
            f"gpgcheck={int(repo.gpgcheck)}",
            # the repository metadata is not signed by most mirrors; packages are
            "repo_gpgcheck=0",
            "skip_if_unavailable=0",
        ]
        if repo.gpgkeys:
            lines.append("gpgkey=" + " ".join(repo.gpgkeys))
        sections.append("\n".join(lines) + "\n")
    return "\n".join(sections)


def write_repo_file(path: Path, repositories: list[ResolvedRepository]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(repo_file(repositories))
