"""What a userdata fixture promises: files (path, content, mode) and enabled units.

Understands Ignition JSON (data: URLs) and #cloud-config write_files.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import yaml

from .context import ExpectedFile


def _data_url(source: str) -> str:
    header, _, payload = source.partition(",")
    if header.endswith(";base64"):
        return base64.b64decode(payload).decode(errors="replace")
    return urllib.parse.unquote(payload)


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def expectations(userdata: str | None) -> tuple[list[ExpectedFile], list[str]]:
    if not userdata:
        return [], []
    head = userdata.splitlines()[:3]
    if any("#cloud-config" in line for line in head):
        # cloud-init applies write_files at boot (cloud-init-custom.service)
        data: Any = yaml.safe_load(userdata) or {}
        files = [ExpectedFile(str(f["path"]), _first_line(str(f.get("content", ""))),
                              int(str(f["permissions"]), 8) if f.get("permissions") else None)
                 for f in data.get("write_files") or []]
        return files, []
    data = json.loads(userdata)
    files = []
    for entry in (data.get("storage") or {}).get("files") or []:
        source = ((entry.get("contents") or {}).get("source")) or ""
        text = _data_url(source) if source.startswith("data:") else ""
        files.append(ExpectedFile(str(entry["path"]), _first_line(text), entry.get("mode")))
    units = [str(u["name"]) for u in (data.get("systemd") or {}).get("units") or [] if u.get("enabled")]
    return files, units
