"""Components that exist only as downloads (image.yaml `artifacts:`): fetch, verify, install.

Owned by the Ubuntu/firewall issue; the builder calls `install_artifacts(spec, root)` in the
customize stage, after the context overlay.
"""

from __future__ import annotations

from pathlib import Path

from metal_images.catalog import ImageSpec
from metal_images.errors import MetalImagesError


def install_artifacts(spec: ImageSpec, root: Path) -> list[str]:
    """Install the spec's artifacts into `root`; return the names of those left out."""
    if spec.artifacts:
        raise MetalImagesError(f"{spec.family}: artifacts are not supported yet")
    return []
