"""The image store: layout, backends (file://, s3://), publish, release, listings, diff."""

from metal_images.identity import Channel, ImageRef
from metal_images.store.backend import Backend, ObjectInfo
from metal_images.store.open import default_store_url, open_store

__all__ = [
    "Backend",
    "Channel",
    "ImageRef",
    "ObjectInfo",
    "default_store_url",
    "open_store",
    "parse_channel",
    "parse_image_path",
]
