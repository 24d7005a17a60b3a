"""The image catalog: `images/<family>/image.yaml`, validated into typed specs."""

from metal_images.catalog.loader import Catalog, load_catalog
from metal_images.catalog.model import Artifact, ImageSpec, Role, Services

__all__ = ["Artifact", "Catalog", "ImageSpec", "Role", "Services", "load_catalog"]
