"""A CycloneDX SBOM of the packages in an image, built with cyclonedx-python-lib.

One component per installed package with a package URL (`pkg:deb/debian/bash@5.2.15-2?
arch=amd64&distro=debian-12`), the image itself as the operating-system component.
Deterministic: the timestamp is SOURCE_DATE_EPOCH and the serial number is derived from
the image's sha256, so the same image always gets the same SBOM.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from packageurl import PackageURL

from metal_images.artifact.packages import Package, PackageFormat

SCHEMA = SchemaVersion.V1_6


def package_url(package: Package, fmt: PackageFormat, os_id: str, os_version: str) -> PackageURL:
    qualifiers = {"arch": package.arch}
    if os_id:
        qualifiers["distro"] = f"{os_id}-{os_version}" if os_version else os_id
    if package.source and package.source != package.name:
        qualifiers["upstream"] = package.source
    return PackageURL(type=fmt, namespace=os_id or None, name=package.name, version=package.version,
                      qualifiers=qualifiers)


def sbom_json(
    *,
    image_name: str,
    image_version: str,
    image_sha256: str,
    packages: list[Package],
    fmt: PackageFormat | None,
    os_id: str,
    os_version: str,
    source_date_epoch: int,
) -> str:
    subject = Component(type=ComponentType.OPERATING_SYSTEM, name=image_name, version=image_version,
                        bom_ref=f"image:{image_name}@{image_version}")
    components = [
        Component(type=ComponentType.LIBRARY, name=p.name, version=p.version,
                  purl=(purl := package_url(p, fmt, os_id, os_version)), bom_ref=purl.to_string())
        for p in packages
        if fmt is not None
    ]
    bom = Bom(
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL,
                                 f"metal-images:{image_name}:{image_version}:{image_sha256}"),
        metadata=BomMetaData(component=subject,
                             timestamp=datetime.fromtimestamp(source_date_epoch, UTC)),
        components=components,
    )
    bom.register_dependency(subject, components)  # the image depends on every package
    return str(make_outputter(bom, OutputFormat.JSON, SCHEMA).output_as_string(indent=2)) + "\n"
