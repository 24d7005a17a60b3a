"""Write small catalogs into a temp dir for catalog and stage-key tests."""

from __future__ import annotations

from pathlib import Path

BASE_YAML = """\
name: demo
version: "1"
distribution: debian
suite: bookworm
packages: [systemd]
kernel: linux-image-amd64
steps: [steps/10-hello.sh]
services:
  enable: [demo.service]
"""


def write_family(catalog: Path, family: str, yaml_text: str, *, context: dict[str, str] | None = None,
                 steps: dict[str, str] | None = None) -> Path:
    folder = catalog / family
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "image.yaml").write_text(yaml_text)
    for rel, text in (context or {}).items():
        path = folder / "context" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for rel, text in (steps or {}).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755)
    return folder


def write_demo(catalog: Path, family: str = "demo") -> Path:
    return write_family(
        catalog, family, BASE_YAML,
        context={"etc/demo.conf": "a = 1\n", "etc/motd": "hello\n"},
        steps={"steps/10-hello.sh": "#!/bin/sh\necho hello > /etc/hello\n"},
    )
