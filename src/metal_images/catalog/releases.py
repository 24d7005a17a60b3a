"""Release files: `images/<family>/<version>.yaml` is the family's image.yaml with changes.

A family folder holds its first release in image.yaml and each further release of the
same distribution in a file named by its version (images/debian/13.yaml). The release is
catalogued as `<family>-<version>` (debian-13), shares the folder's context/ and steps/,
and states only what differs:

- a scalar key (suite, kernel, description, ...) replaces image.yaml's value;
- a list key (packages, steps, remove, services.enable, ...) is either a list that
  replaces image.yaml's list, or `{add: [...], drop: [...]}`: `drop` removes entries (each
  must be in image.yaml's list, so a renamed package cannot silently stay), `add` appends;
- a mapping key (args, services) is merged key by key with the same rules.

`name`, `version` (the file name is the version) and `dockerfile` cannot change. A derived
family (image.yaml has `from:`) has releases too, built on a release of its parent: its
release file names that parent release in `from:` (a debian-nvidia/13.yaml would say `from:
debian-13`); a distribution's release file cannot add a `from:`.
"""

from __future__ import annotations

import re
from typing import Any

from metal_images.errors import ConfigError

RELEASE_FILE = re.compile(r"^(?P<version>[0-9]+(\.[0-9]+)?(-[a-z0-9]+)?)\.yaml$")
FIXED_KEYS = ("name", "version", "dockerfile")
LIST_OPS = frozenset({"add", "drop"})


def release_version(file_name: str) -> str | None:
    """The version a release file's name gives, or None for any other file."""
    match = RELEASE_FILE.match(file_name)
    return match.group("version") if match else None


def release_id(family: str, version: str) -> str:
    return f"{family}-{version}"


def _merge_list(where: str, key: str, base: Any, change: Any) -> Any:
    if not isinstance(change, dict):
        return change  # a list replaces; anything else fails the model's validation
    unknown = sorted(set(map(str, change)) - LIST_OPS)
    if unknown:
        raise ConfigError(f"{where}: {key}: unknown key '{unknown[0]}' (a list changes by add: and drop:)")
    if base is not None and not isinstance(base, list):
        raise ConfigError(f"{where}: {key}: image.yaml's value is not a list; give the whole value")
    result = list(base or [])
    for op in ("drop", "add"):
        items = change.get(op) or []
        if not isinstance(items, list):
            raise ConfigError(f"{where}: {key}.{op}: expected a list")
        for item in items:
            if op == "add":
                if item in result:
                    raise ConfigError(f"{where}: {key}.add: {item!r} is already in image.yaml's {key}")
                result.append(item)
            elif item in result:
                result.remove(item)
            else:
                raise ConfigError(f"{where}: {key}.drop: {item!r} is not in image.yaml's {key}")
    return result


def _merge(where: str, prefix: str, base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in change.items():
        path = f"{prefix}{key}"
        old = base.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = _merge(where, f"{path}.", old, value)
        elif isinstance(old, list) or (old is None and isinstance(value, dict) and set(value) <= LIST_OPS):
            merged[key] = _merge_list(where, path, old, value)
        else:
            merged[key] = value
    return merged


def apply_release(where: str, version: str, base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """image.yaml's mapping `base` with the release file's `change` applied (both raw YAML)."""
    for key in FIXED_KEYS:
        if key in change:
            hint = " (the file name is the version)" if key == "version" else ""
            raise ConfigError(f"{where}: {key}: a release file cannot change it{hint}")
    if "dockerfile" in base:
        raise ConfigError(f"{where}: releases extend a distribution's or a derived image.yaml, "
                          "not dockerfile:")
    if "from" in change and "from" not in base:
        raise ConfigError(f"{where}: from: a release file cannot change it (image.yaml names a distribution)")
    if "from" in base and "from" not in change:
        raise ConfigError(f"{where}: from: missing: a derived family's release names its parent's release "
                          f"(image.yaml has from: {base['from']})")
    merged = _merge(where, "", base, change)
    merged["version"] = version
    return merged
