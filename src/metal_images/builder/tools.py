"""Versions of the external tools a build used (recorded in build-state.json, keyed into stages)."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess

from metal_images.errors import MetalImagesError


@functools.cache
def tool_version(tool: str) -> str:
    """`mmdebstrap 1.3.5` -> `1.3.5`; raises a clear error when the tool is missing."""
    if shutil.which(tool) is None:
        raise MetalImagesError(f"{tool} is not installed (run `make deps` or scripts/bootstrap.sh)")
    proc = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    text = (proc.stdout or proc.stderr).strip()
    match = re.search(r"\d+(\.\d+)+\S*", text)
    return match.group(0) if match else text.splitlines()[0] if text else "unknown"
