"""The typed model of one image.yaml. `metal-images schema` prints its JSON schema."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    model_validator,
)

from metal_images.identity import OS_PATTERN, VERSION_PATTERN

Role = Literal["machine", "firewall"]
Distribution = Literal["debian", "ubuntu", "almalinux", "centos"]
Variant = Literal["apt", "important", "required", "minbase", "standard"]
# distributions bootstrapped with dnf from RPM repositories (builder/dnf.py)
RPM_DISTRIBUTIONS = ("almalinux", "centos")
# a URL as written in image.yaml: `{name}` placeholders are mirrors the user sets (builder/repositories.py)
URL_TEMPLATE = r"^(\{[a-z][a-z0-9_]*\}|https?://|file:///)[^\s\"'\\`]*$"
MIRROR_NAME = r"^[a-z][a-z0-9_]*$"
# a package name (apt may pin `name=version`): never an option (`-...`) to mmdebstrap, apt or dnf,
# never a list separator (`,`) or a path
PackageName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.+_~:=-]*$")]


# a `from:` value: the name of a catalog image (a folder, or `<folder>-<version>` of a release file)
FAMILY_NAME = r"^[a-z0-9][a-z0-9._-]*$"


def _image_path(value: str) -> str:
    """A path inside the image root: absolute, no `..`, printable (it ends up in the tree)."""
    if not value.startswith("/") or ".." in value.split("/") or not value.isprintable():
        raise ValueError(f"{value!r} must be an absolute path inside the image (starting with /, "
                         "no '..', no control characters)")
    return value


ImagePath = Annotated[str, AfterValidator(_image_path)]


def _family_name(value: str) -> str:
    if not re.match(FAMILY_NAME, value):
        raise ValueError(f"'{value}' is not a catalog image name (a folder of the catalog, e.g. ubuntu, "
                         "or a release like debian-13; not a path)")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Services(Strict):
    """systemd units to enable, disable or mask at the end of the customize stage."""

    enable: list[str] = Field(default_factory=list)
    disable: list[str] = Field(default_factory=list)
    mask: list[str] = Field(default_factory=list)
    default_target: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9@._-]+\.target$", description="e.g. multi-user.target"
    )


class Artifact(Strict):
    """A file that exists only as a download (e.g. a static binary), verified by sha256."""

    name: str = Field(description="a short name, used in messages")
    url: str = Field(description="where to download it from")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="the expected sha256 of the download")
    path: ImagePath = Field(description="absolute install path inside the image")
    mode: str = Field(default="0755", pattern=r"^0?[0-7]{3,4}$")
    extract: bool = Field(default=False, description="a .tar.gz/.tgz unpacked at `path` instead of copied")
    strip: int = Field(
        default=0, ge=0, description="with `extract`: leading path components dropped from each member"
    )


class Repository(Strict):
    """One RPM repository of an almalinux/centos image (a section of a dnf .repo file)."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="the repository id, e.g. baseos")
    name: str | None = Field(default=None, pattern=r"^[^\x00-\x1f]*$", description="a human name")
    baseurl: str | None = Field(
        default=None, pattern=URL_TEMPLATE, description="e.g. {mirror}/9/BaseOS/x86_64/os/"
    )
    mirrorlist: str | None = Field(default=None, pattern=URL_TEMPLATE, description="instead of baseurl")
    gpgkey: list[str] = Field(
        default_factory=list,
        description="signing keys: URLs (may use {mirror}) or files relative to the image folder",
    )
    gpgcheck: bool = Field(default=True, description="verify package signatures (keep it on)")

    @model_validator(mode="after")
    def _one_source(self) -> Repository:
        if (self.baseurl is None) == (self.mirrorlist is None):
            raise ValueError("exactly one of `baseurl` or `mirrorlist` is needed")
        if self.gpgcheck and not self.gpgkey:
            raise ValueError("`gpgcheck` needs a `gpgkey`")
        for key in self.gpgkey:
            if re.match(URL_TEMPLATE, key):
                continue
            if not re.match(r"^[A-Za-z0-9._-][A-Za-z0-9._/-]*$", key) or ".." in key.split("/"):
                raise ValueError(f"gpgkey '{key}' is neither a URL nor a file name relative to the folder")
        return self


class ImageSpec(Strict):
    """One image of the catalog."""

    name: str = Field(pattern=f"^{OS_PATTERN}$", description="the os part of the image id, e.g. debian")
    version: str = Field(
        pattern=f"^{VERSION_PATTERN}$",
        description='major.minor of the store layout, e.g. "12", "22.04", "3.0-ubuntu"',
    )
    description: str = ""
    supported: bool = Field(default=True, description="false for images built but not supported")
    distribution: Distribution | None = Field(default=None, description="the package world")
    suite: str | None = Field(default=None, description="e.g. bookworm, jammy, 9")
    from_: Annotated[str, AfterValidator(_family_name)] | None = Field(
        default=None, alias="from", description="a parent image of the catalog (its name, e.g. ubuntu)")
    dockerfile: str | None = Field(default=None, description="build from this Dockerfile instead")
    mirror: str | None = Field(default=None, description="archive URL; default: the distribution's own")
    keyring: str | None = Field(default=None, description="archive signing key file, relative to the folder")
    mirrors: dict[str, str] = Field(
        default_factory=dict,
        description="RPM images: further mirrors by name, each filling `{name}` in repositories",
    )
    releasever: str | None = Field(
        default=None, pattern=r"^[0-9]+(\.[0-9]+)?$", description="RPM images: dnf's $releasever, e.g. 9"
    )
    repositories: list[Repository] = Field(
        default_factory=list, description="RPM images: the repositories dnf installs from"
    )
    variant: Variant = Field(
        default="apt", description="mmdebstrap variant: what is installed before `packages`"
    )
    components: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]] = Field(
        default_factory=lambda: ["main"],
        description="archive components; in a derived image: the ones added to its parent's archives",
    )
    packages: list[PackageName] = Field(default_factory=list)
    kernel: PackageName | None = Field(default=None, description="the kernel package (one kernel in /boot)")
    context: str | list[str] = Field(
        default="context",
        description="folder overlaid onto / (relative), or a list of them overlaid in order (later wins)",
    )
    steps: list[str] = Field(default_factory=list, description="scripts run in the chroot, in order")
    args: dict[str, str] = Field(default_factory=dict, description="pinned versions, exported to steps")
    services: Services = Field(default_factory=Services)
    remove: list[ImagePath] = Field(default_factory=list, description="paths or globs pruned at the end")
    features: list[Role] = Field(default_factory=lambda: list[Role](["machine"]))
    role: Role = Field(default="machine", description="the test profile")
    artifacts: list[Artifact] = Field(default_factory=list)
    allow_missing_artifacts: bool = Field(
        default=False, description="build on with a warning when an artifact cannot be fetched"
    )

    _family: str = PrivateAttr(default="")
    _folder: Path = PrivateAttr(default=Path("."))
    _context_explicit: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _one_base(self) -> ImageSpec:
        bases = [b for b in ("from_", "dockerfile") if getattr(self, b)]
        if self.distribution is not None and not self.from_:
            bases.append("distribution")
        if len(bases) != 1:
            raise ValueError("exactly one of `distribution` (+ `suite`), `from` or `dockerfile` is needed")
        rpm = self.distribution in RPM_DISTRIBUTIONS
        if self.distribution is not None and not self.from_:
            if rpm and not self.releasever:
                raise ValueError(f"`distribution: {self.distribution}` needs a `releasever`")
            if rpm and not self.repositories:
                raise ValueError(f"`distribution: {self.distribution}` needs `repositories`")
            if not rpm and not self.suite:
                raise ValueError("`distribution` needs a `suite`")
        if self.repositories and not rpm:
            raise ValueError("`repositories` are for RPM images (distribution almalinux or centos)")
        for name in self.mirrors:
            if not re.match(MIRROR_NAME, name) or name == "mirror":
                raise ValueError(f"mirrors: '{name}' is not a mirror name (a-z, 0-9, _; not 'mirror')")
        if rpm and self.suite is None:
            self.suite = self.releasever  # the package world's release, as the suite is for Debian
        return self

    @property
    def family(self) -> str:
        """The catalog folder name; what the CLI calls the image."""
        return self._family

    @property
    def folder(self) -> Path:
        return self._folder

    @property
    def image_id(self) -> str:
        """`<os>-<major.minor>` as metal-api resolves it (patch added at release)."""
        return f"{self.name}-{self.version}"

    @property
    def context_names(self) -> list[str]:
        """`context` as a list, whether image.yaml gave one folder or several."""
        return [self.context] if isinstance(self.context, str) else self.context

    @property
    def context_dirs(self) -> list[Path]:
        return [self._folder / name for name in self.context_names]

    def context_file(self, relative: str) -> Path | None:
        """Where the overlay takes `relative` (etc/...) from: the last context that has it."""
        found = [d / relative for d in self.context_dirs if (d / relative).exists()]
        return found[-1] if found else None

    def step_paths(self) -> list[Path]:
        return [self._folder / s for s in self.steps]
