"""Versions of the external tools a build used (recorded in build-state.json, keyed into stages)."""

from __future__ import annotations

import functools
import re

from metal_images.errors import MetalImagesError
from metal_images.runner import NOT_FOUND, probe


@functools.cache
def tool_version(tool: str) -> str:
    """`mmdebstrap 1.3.5` -> `1.3.5`; raises a clear error when the tool is missing."""
    answer = probe([tool, "--version"])
    if answer.returncode == NOT_FOUND:
        raise MetalImagesError(f"{tool} is not installed (run `make deps` or scripts/bootstrap.sh)")
    text = (answer.stdout or answer.stderr).strip()
    match = re.search(r"\d+(\.\d+)+\S*", text)
    return match.group(0) if match else text.splitlines()[0] if text else "unknown"
