"""Export benchmark: our export vs the upstream pipeline vs the floor, on the same tree, in one run.

    python bench/export_bench.py [TREE] [--levels 1,3,4,6,9] [--repeat N] [--workdir DIR]

- ours:     metal-images export (deterministic tar, parallel LZ4 frame, md5+sha256+sha512
            in the same pass, plus packages.txt/SBOM/image-info/build.json); once per level
            in --levels (default: the default level), then the first level on one thread
- upstream: `tar -c | lz4 -9 > img.tar.lz4`, then `md5sum img.tar.lz4` (export.sh, contract 4)
- floor:    `tar -c | lz4 -1 > /dev/null` (reading the tree + the fastest lz4)
- limit:    compressing the tar stream alone at a level on the threads, from memory (no tar,
            no hashing, no file): the least time an export at that level can take here

The tree is read once first so every contender finds it in the page cache. Wall time is
the best of --repeat runs; CPU is user+sys of that run. The machine is shared: the load
average is printed with the table.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from metal_images import ui
from metal_images.artifact import registry
from metal_images.artifact.exporter import DEFAULT_LEVEL, ImageIdentity, default_threads, export_tree
from metal_images.artifact.lz4frame import BLOCK_SIZE, compress_block

DEFAULT_TREE = "/var/tmp/scratch/debian-rootfs"


@dataclass
class Run:
    name: str
    wall: float
    cpu: float
    size: int | None  # compressed bytes (None: not kept)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, action: Callable[[], int | None], repeat: int) -> Run:
    best: Run | None = None
    for _ in range(repeat):
        cpu0 = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        size = action()
        wall = time.monotonic() - start
        cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu0
        if best is None or wall < best.wall:
            best = Run(name, wall, cpu, size)
    assert best is not None
    return best


def shell(command: str) -> None:
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree", nargs="?", default=DEFAULT_TREE)
    parser.add_argument("--levels", default=str(DEFAULT_LEVEL), help="comma-separated lz4 levels for ours")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--workdir", default="/var/tmp")
    args = parser.parse_args()
    tree = Path(args.tree)
    if not tree.is_dir():
        raise SystemExit(f"error: {tree}: no such directory")
    levels = [int(x) for x in args.levels.split(",")]
    ui.settings.quiet = True
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")
    q = shlex.quote(str(tree))
    tar = f"tar --numeric-owner -C {q} -cf - ."
    console = Console(width=150)
    console.print(f"tree {tree}, {args.threads} threads, load average before: {os.getloadavg()[0]:.1f}")
    shell(f"{tar} > /dev/null")  # warm the page cache

    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="export-bench-", dir=args.workdir) as work:
        out = Path(work)
        upstream = out / "upstream" / registry.IMAGE
        upstream.parent.mkdir()

        def run_upstream() -> int:
            shell(f"{tar} | lz4 -q -9 > {shlex.quote(str(upstream))} && "
                  f"(cd {shlex.quote(str(upstream.parent))} && md5sum {registry.IMAGE} > {registry.MD5})")
            return upstream.stat().st_size

        def run_floor() -> None:
            shell(f"{tar} | lz4 -q -1 > /dev/null")

        runs.append(measure("floor: tar -c | lz4 -1 > /dev/null", run_floor, args.repeat))
        stream = out / "tree.tar"
        shell(f"{tar} > {shlex.quote(str(stream))}")
        data = stream.read_bytes()
        stream.unlink()

        def run_limit(level: int = levels[0]) -> int:
            blocks = (data[start:start + BLOCK_SIZE] for start in range(0, len(data), BLOCK_SIZE))
            with ThreadPoolExecutor(args.threads) as pool:
                return sum(len(block) for block in pool.map(lambda b: compress_block(b, level), blocks))

        runs.append(measure(f"limit: lz4 level {levels[0]} alone, {args.threads} threads, from memory",
                            run_limit, args.repeat))

        runs.append(measure("upstream: tar -c | lz4 -9; md5sum", run_upstream, args.repeat))
        upstream.unlink()
        contenders = [(level, args.threads) for level in levels]
        if args.threads > 1:
            contenders.append((levels[0], 1))  # what the second core buys
        for level, threads in contenders:
            def run_ours(level: int = level, threads: int = threads) -> int:
                target = out / f"ours-{level}-{threads}"
                result = export_tree(tree, target, ImageIdentity("bench", "bench", "1", "stable"),
                                     level=level, threads=threads)
                size = result.digests.size
                (target / registry.IMAGE).unlink()
                return size

            runs.append(measure(f"ours: export --level {level} --threads {threads}", run_ours,
                                args.repeat))

    floor = runs[0]
    up = next(run for run in runs if run.name.startswith("upstream"))
    table = Table("pipeline", "wall s", "cpu s", "size MB", "size / lz4 -9", "time / upstream",
                  "time / floor")
    for run in runs:
        table.add_row(
            run.name, f"{run.wall:.1f}", f"{run.cpu:.1f}",
            "-" if run.size is None else f"{run.size / 1e6:.1f}",
            "-" if run.size is None or up.size is None else f"{run.size / up.size:.3f}",
            f"{run.wall / up.wall:.2f}", f"{run.wall / floor.wall:.2f}",
        )
    console.print(table)
    console.print(f"load average after: {os.getloadavg()[0]:.1f} (2 cores shared with other jobs)")


if __name__ == "__main__":
    main()
