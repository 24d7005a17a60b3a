"""Benchmark the Debian 12 build against the bare mmdebstrap command, side by side.

Runs, in one go and in isolated scratch dirs (the repository's build/ and the shared
package cache are not touched):
  bare       mmdebstrap with the same variant, components and packages (no cache)
  cold       `build debian` with an empty package cache and no stages
  warm       `build debian` with the package cache filled, no stages
  hit        `build debian` again, nothing changed
  one-file   `build debian` after changing one context file

Usage (root, network to the Debian archive; downloads the package set twice):
  .venv/bin/python bench/build.py [--scratch /var/tmp/builder/bench] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from metal_images import paths
from metal_images.builder.bootstrap import package_list
from metal_images.builder.builder import build_image
from metal_images.catalog import load_catalog


def _timed(label: str, action: Callable[[], object], results: list[tuple[str, float]]) -> None:
    started = time.monotonic()
    action()
    results.append((label, time.monotonic() - started))
    print(f"  {label}: {results[-1][1]:.1f}s", flush=True)


def _rm(path: Path) -> None:
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scratch", type=Path, default=Path("/var/tmp/builder/bench"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch dir afterwards")
    options = parser.parse_args()
    scratch: Path = options.scratch
    _rm(scratch)
    scratch.mkdir(parents=True)
    catalog_root = scratch / "images"
    shutil.copytree(paths.catalog_dir() / "debian", catalog_root / "debian", symlinks=True)
    os.environ["METAL_IMAGES_CACHE"] = str(scratch / "cache")
    os.environ["METAL_IMAGES_WORKDIR"] = str(scratch / "work")
    # keep the step lines: they show where the time of each run goes
    spec = load_catalog(catalog_root).get("debian")
    assert spec.suite is not None
    results: list[tuple[str, float]] = []

    bare_target = Path(tempfile.mkdtemp(dir=scratch, prefix="bare-"))
    bare_target.rmdir()
    bare = ["mmdebstrap", "--mode=root", f"--variant={spec.variant}",
            f"--components={' '.join(spec.components)}", f"--include={','.join(package_list(spec))}",
            spec.suite, str(bare_target)]
    try:
        print("running (this downloads the package set twice):", flush=True)
        _timed("bare mmdebstrap", lambda: subprocess.run(bare, check=True, capture_output=True), results)
        _rm(bare_target)

        def build() -> None:
            build_image("debian", catalog=load_catalog(catalog_root))

        _timed("cold build (empty package cache)", build, results)
        _rm(scratch / "work")
        _timed("warm build (package cache filled)", build, results)
        _timed("cache hit (nothing changed)", build, results)
        motd = catalog_root / "debian/context/etc/motd"
        motd.write_text("benchmark: one context file changed\n")
        _timed("one context file changed", build, results)
    finally:
        if not options.keep:
            _rm(scratch)

    reference = results[0][1]
    cold = results[1][1]
    print()
    print(f"{'run':<36} {'seconds':>9} {'x bare':>8} {'x cold':>8}")
    for label, seconds in results:
        print(f"{label:<36} {seconds:>9.1f} {seconds / reference:>8.2f} {seconds / cold:>8.3f}")


if __name__ == "__main__":
    main()
