"""A GPU image booted on a machine without a GPU (issue 16.4): the driver is there for the
running kernel, nothing fails for want of the device.

Applies to images that carry DKMS module sources (`/usr/src/*/dkms.conf`): one SSH round
trip gathers the running kernel, DKMS's view and the vermagic modinfo reads for each
module DKMS built, and the checks assert on those facts.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import pytest

from .plugin import Root

# modinfo resolves Debian's alias `nvidia` -> nvidia-current as modprobe would
MODULES = ("nvidia", "nvidia-modeset", "nvidia-uvm")
MARK = "=== "


@dataclass(frozen=True)
class GpuFacts:
    kernel: str
    dkms_sources: list[str]
    dkms_status: str
    vermagic: dict[str, str]  # module -> modinfo's vermagic ('' when modinfo failed)
    module_files: dict[str, str]  # module -> the file modinfo found


def _script() -> str:
    parts = ["uname -r", f"echo '{MARK}sources'", "ls -1 /usr/src/*/dkms.conf 2>/dev/null || true",
             f"echo '{MARK}status'", "dkms status 2>&1 || true"]
    for module in MODULES:
        quoted = shlex.quote(module)
        parts += [f"echo '{MARK}module {module}'",
                  f"modinfo -F filename {quoted} 2>/dev/null || true",
                  f"modinfo -F vermagic {quoted} 2>/dev/null || true"]
    return "; ".join(parts)


def parse_facts(output: str) -> GpuFacts:
    sections: dict[str, list[str]] = {"kernel": []}
    current = "kernel"
    for line in output.splitlines():
        if line.startswith(MARK):
            current = line[len(MARK):]
            sections[current] = []
        else:
            sections[current].append(line)
    files, magic = {}, {}
    for module in MODULES:
        lines = [line.strip() for line in sections.get(f"module {module}", []) if line.strip()]
        files[module] = lines[0] if lines else ""
        magic[module] = lines[1] if len(lines) > 1 else ""
    return GpuFacts(kernel=(sections["kernel"] or [""])[0].strip(),
                    dkms_sources=[s for s in sections.get("sources", []) if s.strip()],
                    dkms_status="\n".join(sections.get("status", [])), vermagic=magic, module_files=files)


@pytest.fixture(scope="module")
def gpu(root: Root) -> GpuFacts:
    facts = parse_facts(root.check_output(_script()))
    if not facts.dkms_sources:
        pytest.skip("no DKMS module sources: not a GPU image")
    return facts


def test_dkms_installed_the_modules_for_the_running_kernel(gpu: GpuFacts) -> None:
    installed = [line for line in gpu.dkms_status.splitlines()
                 if f", {gpu.kernel}," in line and line.rstrip().endswith("installed")]
    assert installed, f"dkms has nothing installed for {gpu.kernel}:\n{gpu.dkms_status}"


@pytest.mark.parametrize("module", MODULES)
def test_modinfo_names_the_running_kernel(gpu: GpuFacts, module: str) -> None:
    path = gpu.module_files[module]
    assert path.startswith((f"/lib/modules/{gpu.kernel}/", f"/usr/lib/modules/{gpu.kernel}/")), (
        f"modinfo {module}: {path or 'not found'} (running kernel {gpu.kernel})")
    assert gpu.vermagic[module].split(" ", 1)[0] == gpu.kernel, (
        f"modinfo {module}: vermagic {gpu.vermagic[module]!r}, running kernel {gpu.kernel}")


def test_gpu_services_wait_for_a_gpu(gpu: GpuFacts, root: Root) -> None:
    """Without a GPU the driver's daemon is skipped by its condition, never failed: asked
    to start, it stays inactive with its condition unmet."""
    unit = "nvidia-persistenced.service"
    start = root.run(f"systemctl start {unit}")
    state = root.check_output(f"systemctl show -P ActiveState -P ConditionResult {unit}").split()
    assert start.rc == 0 and state[:2] == ["inactive", "no"], f"{unit}: {state} ({start.stderr.strip()})"
