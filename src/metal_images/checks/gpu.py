"""A GPU image booted on a machine without a GPU (issue 16.4): the driver is there for the
running kernel, and nothing fails for want of the device.

The checks apply to images that carry DKMS module sources (`/usr/src/*/dkms.conf`); on the
others they skip themselves. Every module DKMS installed for the running kernel is looked
up by name as modprobe would (through depmod's index, Debian names them nvidia-current*)
and modinfo's vermagic of it must name the running kernel. All facts come in the one
batched round trip of facts.py (PROBES).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from .facts import Facts, probe

PERSISTENCED = "nvidia-persistenced.service"
# one line per module DKMS installed for the running kernel: <name> <file modinfo finds> <vermagic>
_MODULES = r"""
kernel=$(uname -r)
for file in /lib/modules/"$kernel"/updates/dkms/*.ko*; do
  [ -e "$file" ] || continue
  name=${file##*/}; name=${name%%.ko*}
  path=$(modinfo -F filename "$name" 2>/dev/null)
  printf '%s %s %s\n' "$name" "$path" "$(modinfo -F vermagic "$name" 2>/dev/null)"
done
"""

PROBES = [
    probe("gpu_kernel", "uname -r"),
    probe("gpu_dkms_sources", "ls -1 /usr/src/*/dkms.conf 2>/dev/null || true"),
    probe("gpu_dkms_status", "dkms status 2>&1 || true", root=True),
    probe("gpu_modules", _MODULES, root=True),  # modinfo is in /usr/sbin, off metal's PATH
    # asked to start without a GPU, the daemon must be skipped by its condition, not fail
    probe("gpu_persistenced", f"systemctl start {PERSISTENCED}; echo rc=$?; "
                              f"systemctl show -P ActiveState -P ConditionResult {PERSISTENCED}", root=True),
]


@dataclass(frozen=True)
class Module:
    name: str
    path: str
    vermagic: str


def parse_modules(text: str) -> list[Module]:
    modules = []
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        path, _, vermagic = rest.partition(" ")
        if name:
            modules.append(Module(name, path.strip(), vermagic.strip()))
    return modules


def _gpu_image(facts: Facts) -> str:
    if not facts["gpu_dkms_sources"].stdout.strip():
        pytest.skip("no DKMS module sources: not a GPU image")
    return facts["gpu_kernel"].stdout.strip()


def test_dkms_installed_the_modules_for_the_running_kernel(facts: Facts) -> None:
    kernel = _gpu_image(facts)
    status = facts["gpu_dkms_status"].stdout
    installed = [line for line in status.splitlines()
                 if f", {kernel}," in line and line.rstrip().endswith("installed")]
    assert installed, f"dkms has nothing installed for {kernel}:\n{status}"


def test_modinfo_names_the_running_kernel(facts: Facts) -> None:
    kernel = _gpu_image(facts)
    modules = parse_modules(facts["gpu_modules"].stdout)
    assert any(m.name.startswith("nvidia") for m in modules), f"no nvidia module for {kernel}: {modules}"
    for module in modules:
        assert module.path.startswith((f"/lib/modules/{kernel}/", f"/usr/lib/modules/{kernel}/")), (
            f"modinfo {module.name}: {module.path or 'not found'} (running kernel {kernel})")
        assert module.vermagic.split(" ", 1)[0] == kernel, (
            f"modinfo {module.name}: vermagic {module.vermagic!r}, running kernel {kernel}")


def test_gpu_services_wait_for_a_gpu(facts: Facts) -> None:
    _gpu_image(facts)
    out = facts["gpu_persistenced"].stdout.split()
    assert out[:3] == ["rc=0", "inactive", "no"], f"{PERSISTENCED} without a GPU: {out}"
