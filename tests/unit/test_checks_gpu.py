"""The GPU checks' module facts: one line per DKMS module, parsed without confusing a module
modinfo could not find with one built for another kernel."""

from __future__ import annotations

from metal_images.checks.gpu import Module, parse_modules

KERNEL = "6.12.117+deb12-amd64"


def test_modules_of_a_good_image() -> None:
    base = f"/lib/modules/{KERNEL}/updates/dkms"
    text = (f"nvidia-current {base}/nvidia-current.ko.xz {KERNEL} SMP preempt mod_unload\n"
            f"nvidia-current-uvm {base}/nvidia-current-uvm.ko.xz {KERNEL} SMP\n")
    assert parse_modules(text) == [
        Module("nvidia-current", f"{base}/nvidia-current.ko.xz", f"{KERNEL} SMP preempt mod_unload"),
        Module("nvidia-current-uvm", f"{base}/nvidia-current-uvm.ko.xz", f"{KERNEL} SMP"),
    ]


def test_a_module_modinfo_cannot_find_has_no_path_and_no_vermagic() -> None:
    assert parse_modules("nvidia-current  \n") == [Module("nvidia-current", "", "")]
    assert parse_modules("") == []
