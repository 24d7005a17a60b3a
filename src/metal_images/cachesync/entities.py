"""The images the metal-api offers (`id`, `name`, `url`, `features`, `expirationDate`, ...).

Read from a YAML/JSON file (a list, or a mapping with an `images:` list) or fetched from a
metal-api (`GET <endpoint>/v1/image`); see `metalapi` for the HTTP side.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metal_images.errors import ConfigError


class ImageEntity(BaseModel):
    """One image as the metal-api lists it (metal-go `V1ImageResponse`); unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    name: str = ""
    url: str
    features: list[str] = Field(default_factory=list)
    classification: str = ""
    expiration_date: datetime | None = Field(default=None, alias="expirationDate")

    @property
    def store_key(self) -> str:
        """The object key in the store: the URL's path without its leading `/`."""
        return urlparse(self.url).path.lstrip("/")


def parse_entities(data: Any, *, source: str) -> list[ImageEntity]:
    if isinstance(data, dict) and "images" in data:
        data = data["images"]
    if not isinstance(data, list):
        raise ConfigError(f"{source}: expected a list of images (or a mapping with an 'images' list)")
    entities: list[ImageEntity] = []
    for index, item in enumerate(data):
        try:
            entities.append(ImageEntity.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{source}: image #{index} {where}: {first['msg']}") from exc
    return entities


def load_entities_file(path: Path) -> list[ImageEntity]:
    """Image entities from a YAML or JSON file (JSON is YAML, one parser reads both)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"image list {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text) if path.suffix not in (".json",) else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigError(f"image list {path}: not valid YAML/JSON: {str(exc).splitlines()[0]}") from exc
    return parse_entities(data, source=f"image list {path}")


def load_url_list(path: Path) -> list[str]:
    """URLs one per line (`#` starts a comment), for the kernel and boot-image caches."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"url list {path}: {exc.strerror or exc}") from exc
    urls = [line.split("#", 1)[0].strip() for line in lines]
    for number, url in enumerate(urls, start=1):
        if url and urlparse(url).scheme not in ("http", "https"):
            raise ConfigError(f"url list {path}:{number}: {url!r} is not an http(s) URL")
    return [u for u in urls if u]
