"""Load and validate image.yaml files; resolve `from:` parents into a DAG.

Every problem becomes one ConfigError line naming the file and the key, e.g.
`images/debian/image.yaml: packages.3: Input should be a valid string`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from metal_images import paths
from metal_images.catalog.model import ImageSpec
from metal_images.catalog.releases import apply_release, release_id, release_version
from metal_images.errors import ConfigError

SPEC_FILE = "image.yaml"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_yaml(path: Path) -> dict[str, Any]:
    where = _display(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{where}: YAML syntax error: {line}{exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: YAML syntax error: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys at the top level")
    return data


def _first_error(where: str, exc: ValidationError) -> ConfigError:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    loc = loc.replace("from_", "from")
    if err["type"] == "extra_forbidden":
        return ConfigError(f"{where}: unknown key '{loc}'")
    message = err["msg"].removeprefix("Value error, ")
    return ConfigError(f"{where}: {loc}: {message}")


ALLOWED_PATHS = (
    "paths are relative to the image folder and inside the catalog: the family's own files, "
    "or another family's (e.g. ../debian/steps/10-locale.sh)"
)


def _inside_catalog(where: str, key: str, folder: Path, value: str) -> None:
    """Refuse a path that is absolute or leads (symlinks resolved) out of the catalog folder:
    a build copies the context into the image and runs the steps."""
    catalog = folder.resolve().parent
    if not value or Path(value).is_absolute() or not value.isprintable() or "\\" in value:
        raise ConfigError(f"{where}: {key}: {value!r} is refused: {ALLOWED_PATHS}")
    try:
        resolved = (folder / value).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ConfigError(f"{where}: {key}: {value!r} cannot be resolved: {exc}") from exc
    if not resolved.is_relative_to(catalog) or resolved == catalog:
        raise ConfigError(f"{where}: {key}: {value!r} leads to {resolved}, outside the catalog "
                          f"{_display(catalog)}: {ALLOWED_PATHS}")


def parse_spec(folder: Path, release: str | None = None) -> ImageSpec:
    """Validate one family folder's image.yaml, or its release file `<release>.yaml` applied
    to it (catalog/releases.py), including the files it names."""
    spec_path = folder / SPEC_FILE
    where = _display(spec_path)
    if not spec_path.is_file():
        raise ConfigError(f"{where}: no such file")
    data = _read_yaml(spec_path)
    if release is not None:
        spec_path = folder / f"{release}.yaml"
        where = _display(spec_path)
        data = apply_release(where, release, data, _read_yaml(spec_path))
    try:
        spec = ImageSpec.model_validate(data)
    except ValidationError as exc:
        raise _first_error(where, exc) from exc
    spec._family = folder.name if release is None else release_id(folder.name, release)
    spec._folder = folder
    spec._context_explicit = "context" in data
    names = spec.context_names
    if spec._context_explicit and not names:
        raise ConfigError(f"{where}: context: an empty list (leave `context` out for none)")
    for index, (name, context) in enumerate(zip(names, spec.context_dirs, strict=True)):
        key = "context" if isinstance(spec.context, str) else f"context.{index}"
        if spec._context_explicit or context.exists():
            _inside_catalog(where, key, folder, name)
        if spec._context_explicit and not context.is_dir():
            raise ConfigError(f"{where}: {key}: folder {_display(context)} does not exist")
    for index, script in enumerate(spec.step_paths()):
        _inside_catalog(where, f"steps.{index}", folder, spec.steps[index])
        if not script.is_file():
            raise ConfigError(f"{where}: steps.{index}: script {_display(script)} does not exist")
    if spec.keyring:
        _inside_catalog(where, "keyring", folder, spec.keyring)
    if spec.keyring and not (folder / spec.keyring).is_file():
        raise ConfigError(f"{where}: keyring: file {_display(folder / spec.keyring)} does not exist")
    for r_index, repo in enumerate(spec.repositories):
        for k_index, key in enumerate(repo.gpgkey):
            key_file = folder / key
            if "://" in key or key.startswith("{"):
                continue  # a URL, fetched by dnf
            if not key_file.resolve().is_relative_to(folder.resolve()) or not key_file.is_file():
                raise ConfigError(
                    f"{where}: repositories.{r_index}.gpgkey.{k_index}: file {_display(key_file)} "
                    "does not exist in the image folder"
                )
    if spec.dockerfile:
        _inside_catalog(where, "dockerfile", folder, spec.dockerfile)
    if spec.dockerfile and not (folder / spec.dockerfile).is_file():
        raise ConfigError(f"{where}: dockerfile: file {_display(folder / spec.dockerfile)} does not exist")
    return spec


DOCKER_IMAGE_PREFIX = "metal-images/"
FROM_LINE = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", re.IGNORECASE | re.MULTILINE)


def dockerfile_parent(spec: ImageSpec) -> str:
    """The catalog image a Dockerfile builds on: `FROM metal-images/<family>` (all FROMs alike).

    Other registries are not reachable from the build, so any other FROM is refused.
    """
    assert spec.dockerfile is not None
    where = _display(spec.folder / spec.dockerfile)
    images = FROM_LINE.findall((spec.folder / spec.dockerfile).read_text())
    if not images:
        raise ConfigError(f"{where}: no FROM line")
    parents: set[str] = set()
    for image in images:
        name = image.split(":", 1)[0].removeprefix("localhost/")
        if not name.startswith(DOCKER_IMAGE_PREFIX):
            raise ConfigError(
                f"{where}: FROM {image}: only catalog images (FROM {DOCKER_IMAGE_PREFIX}<image>) are "
                "supported yet; other registries are not reachable from the build"
            )
        parents.add(name.removeprefix(DOCKER_IMAGE_PREFIX))
    if len(parents) != 1:
        raise ConfigError(f"{where}: FROM names more than one catalog image: {', '.join(sorted(parents))}")
    return parents.pop()


@dataclass
class Catalog:
    """The catalog folder; specs are loaded on demand so one broken file breaks only itself."""

    root: Path
    _specs: dict[str, ImageSpec] = field(default_factory=dict)

    def _sources(self) -> dict[str, tuple[Path, str | None]]:
        """Every catalog image: its folder and, for a release file, its version."""
        if not self.root.is_dir():
            raise ConfigError(f"{_display(self.root)}: the image catalog folder does not exist")
        sources: dict[str, tuple[Path, str | None]] = {}
        for folder in sorted(p for p in self.root.iterdir() if (p / SPEC_FILE).is_file()):
            sources[folder.name] = (folder, None)
            for release_file in sorted(folder.glob("*.yaml")):
                version = release_version(release_file.name)
                if version is not None:
                    sources.setdefault(release_id(folder.name, version), (folder, version))
        return sources

    def families(self) -> list[str]:
        """The names of all catalog images: folders, and `<folder>-<version>` of release files."""
        return sorted(self._sources())

    def get(self, family: str) -> ImageSpec:
        """The image of folder (or release) `family`, or the one whose id (`<os>-<version>`,
        e.g. debian-12) is `family`."""
        if family not in self._specs:
            source = self._sources().get(family)
            if source is None:
                by_id = self._by_image_id(family)
                if by_id is not None:
                    return by_id
                known = ", ".join(self.families()) or "none"
                raise ConfigError(f"unknown image '{family}' (known: {known})")
            spec = parse_spec(*source)
            if spec.from_ and spec.from_ not in self._sources():
                where = _display(spec.folder / SPEC_FILE)
                raise ConfigError(f"{where}: from: unknown parent image '{spec.from_}', not a catalog image "
                                  f"(known: {', '.join(self.families())})")
            self._specs[family] = spec
        return self._specs[family]

    def _by_image_id(self, image_id: str) -> ImageSpec | None:
        for family in self.families():
            try:
                spec = self.get(family)
            except ConfigError:
                continue  # a broken image.yaml only breaks itself
            if spec.image_id == image_id:
                return spec
        return None

    def all(self) -> list[ImageSpec]:
        specs = [self.get(family) for family in self.families()]
        for spec in specs:
            self.lineage(spec.family)
        return specs

    def parent_family(self, spec: ImageSpec) -> str | None:
        """`from:`, or the catalog image a Dockerfile's FROM names."""
        if spec.dockerfile:
            return dockerfile_parent(spec)
        return spec.from_

    def parent(self, spec: ImageSpec) -> ImageSpec | None:
        family = self.parent_family(spec)
        if not family:
            return None
        if family not in self._sources():
            key = "dockerfile: FROM" if spec.dockerfile else "from:"
            where = _display(spec.folder / SPEC_FILE)
            raise ConfigError(f"{where}: {key} unknown parent image '{family}'")
        return self.get(family)

    def lineage(self, family: str) -> list[ImageSpec]:
        """The image and its ancestors, root first; refuses cycles."""
        chain: list[ImageSpec] = []
        seen: list[str] = []
        current: ImageSpec | None = self.get(family)
        while current is not None:
            if current.family in seen:
                cycle = " -> ".join([*seen, current.family])
                raise ConfigError(f"{_display(current.folder / SPEC_FILE)}: from: cycle of parents: {cycle}")
            seen.append(current.family)
            chain.append(current)
            current = self.parent(current)
        return list(reversed(chain))

    def base(self, family: str) -> ImageSpec:
        """The root ancestor: it names the distribution, suite, mirror and keyring."""
        return self.lineage(family)[0]

    def distribution(self, family: str) -> str:
        base = self.base(family)
        return base.distribution or "debian"


def load_catalog(root: Path | None = None) -> Catalog:
    return Catalog(root or paths.catalog_dir())
