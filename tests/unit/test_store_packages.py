"""packages.txt parsing (dpkg -l, rpm -qa) and the package diff with the kernel change."""

from __future__ import annotations

from metal_images.store.packages import diff_packages, kernel_of, parse_packages
from tests.support.store_sample import dpkg_list


def test_dpkg_list_keeps_installed_packages_only() -> None:
    text = dpkg_list({"bash": "5.2.15-2+b2", "linux-image-amd64": "6.1.76-1"})
    text += "rc  oldpkg:amd64   1.0-1            amd64        removed, config left\n"
    text += "iU  half:amd64     2.0-1            amd64        unpacked only\n"
    assert parse_packages(text) == {"bash": "5.2.15-2+b2", "linux-image-amd64": "6.1.76-1"}


def test_rpm_qa() -> None:
    text = "kernel-core-5.14.0-427.13.1.el9_4.x86_64\nbash-5.1.8-9.el9.x86_64\ntzdata-2024a-1.el9.noarch\n"
    assert parse_packages(text) == {
        "kernel-core": "5.14.0-427.13.1.el9_4",
        "bash": "5.1.8-9.el9",
        "tzdata": "2024a-1.el9",
    }
    assert kernel_of(parse_packages(text)) == "5.14.0-427.13.1.el9_4"


def test_diff_added_removed_changed_and_kernel() -> None:
    a = {
        "bash": "5.2-1",
        "vim": "9.0-1",
        "linux-image-6.1.0-18-amd64": "6.1.76-1",
        "linux-image-amd64": "6.1.76-1",
    }
    b = {
        "bash": "5.2-2",
        "curl": "7.88-1",
        "linux-image-6.1.0-20-amd64": "6.1.85-1",
        "linux-image-amd64": "6.1.85-1",
    }
    diff = diff_packages(a, b)
    assert diff.added == {"curl": "7.88-1", "linux-image-6.1.0-20-amd64": "6.1.85-1"}
    assert diff.removed == {"vim": "9.0-1", "linux-image-6.1.0-18-amd64": "6.1.76-1"}
    assert diff.changed == {"bash": ("5.2-1", "5.2-2"), "linux-image-amd64": ("6.1.76-1", "6.1.85-1")}
    assert diff.kernel == ("6.1.0-18-amd64 (6.1.76-1)", "6.1.0-20-amd64 (6.1.85-1)")


def test_same_packages_no_kernel_change() -> None:
    same = {"bash": "1", "linux-image-6.1.0-18-amd64": "6.1.76-1"}
    diff = diff_packages(same, dict(same))
    assert diff.empty and diff.kernel is None
