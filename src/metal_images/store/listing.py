"""What a store holds: artifact sets grouped by channel, os and version."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from metal_images.artifact.registry import IMAGE, MD5
from metal_images.identity import STORE_ROOT, Channel, ImageRef
from metal_images.store.backend import Backend, ObjectInfo


@dataclass
class StoredSet:
    ref: ImageRef
    files: dict[str, ObjectInfo] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """What cache-sync and metal-hammer rely on: the image and its `.md5` side by side."""
        return IMAGE in self.files and MD5 in self.files

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files.values())

    @property
    def image_size(self) -> int:
        return self.files[IMAGE].size if IMAGE in self.files else 0

    @property
    def modified(self) -> dt.datetime | None:
        return max((f.modified for f in self.files.values()), default=None)

    @property
    def missing(self) -> list[str]:
        return [n for n in (IMAGE, MD5) if n not in self.files]


def group_objects(objects: list[ObjectInfo]) -> list[StoredSet]:
    """Pure: object keys -> sets; keys outside the layout are ignored."""
    sets: dict[ImageRef, StoredSet] = {}
    for obj in objects:
        parsed = ImageRef.from_key(obj.key)
        if parsed is None:
            continue
        ref, name = parsed
        sets.setdefault(ref, StoredSet(ref)).files[name] = obj
    return sorted(
        sets.values(), key=lambda s: (s.ref.os, s.ref.version, s.ref.channel.kind, s.ref.channel.path)
    )


def list_sets(backend: Backend, channel: Channel | None = None) -> list[StoredSet]:
    prefix = f"{STORE_ROOT}/{channel.path}/" if channel else f"{STORE_ROOT}/"
    return group_objects(list(backend.list(prefix)))
