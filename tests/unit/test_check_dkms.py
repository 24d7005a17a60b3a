"""The dkms-modules rule: a GPU image's DKMS-built modules belong to the image's own kernel.

The modules here are small byte strings with a `.modinfo`-like `vermagic=` record, as the
kernel's modpost writes it; the rule reads them from a real img.tar.lz4 stream."""

from __future__ import annotations

import io
import lzma
import zlib
from pathlib import Path

import pytest

from metal_images.contract.modinfo import scan_vermagic
from metal_images.contract.report import Report, check_archive
from tests.support import archive_sample as sample
from tests.support.archive_sample import KERNEL_VERSION, Member, directory, file

DKMS_CONF = b'PACKAGE_NAME="nvidia-current"\nBUILT_MODULE_NAME[0]="nvidia"\n'
OLD_KERNEL = "6.1.0-57-amd64"


def module(kernel: str, *, padding: int = 5000) -> bytes:
    # ELF-ish noise around the record, so the scan cannot rely on where it sits
    record = b"license=NVIDIA\0vermagic=" + f"{kernel} SMP preempt mod_unload modversions ".encode()
    return b"\x7fELF" + b"\x01" * padding + record + b"\0name=nvidia\0" + b"\x02" * padding


def gpu_members(*modules: tuple[str, bytes]) -> list[Member]:
    members = sample.sample_members()
    members += [directory("usr/src"), directory("usr/src/nvidia-current-535.309.01"),
                file("usr/src/nvidia-current-535.309.01/dkms.conf", DKMS_CONF)]
    members += [file(name, data) for name, data in modules]
    return members


def dkms_result(tmp_path: Path, members: list[Member]) -> tuple[str, str]:
    report: Report = check_archive(str(sample.write_archive(tmp_path, members)))
    result = next(r for r in report.results if r.rule.id == "dkms-modules")
    return result.status, result.reason


def test_image_without_dkms_skips_the_rule(tmp_path: Path) -> None:
    status, _ = dkms_result(tmp_path, sample.sample_members())
    assert status == "skip"


def test_module_for_the_image_kernel_passes(tmp_path: Path) -> None:
    name = f"usr/lib/modules/{KERNEL_VERSION}/updates/dkms/nvidia-current.ko"
    assert dkms_result(tmp_path, gpu_members((name, module(KERNEL_VERSION)))) == ("pass", "")


def test_kernel_bump_without_rebuild_fails(tmp_path: Path) -> None:
    # the module was built for the kernel the image had before the bump
    name = f"usr/lib/modules/{OLD_KERNEL}/updates/dkms/nvidia-current.ko"
    status, reason = dkms_result(tmp_path, gpu_members((name, module(OLD_KERNEL))))
    assert status == "fail"
    assert f"built for kernel {OLD_KERNEL}" in reason and "no module built for" in reason


def test_module_whose_vermagic_names_another_kernel_fails(tmp_path: Path) -> None:
    name = f"usr/lib/modules/{KERNEL_VERSION}/updates/dkms/nvidia-current.ko"
    status, reason = dkms_result(tmp_path, gpu_members((name, module(OLD_KERNEL))))
    assert status == "fail" and f"vermagic '{OLD_KERNEL} SMP" in reason


def test_sources_without_any_module_fail(tmp_path: Path) -> None:
    status, reason = dkms_result(tmp_path, gpu_members())
    assert status == "fail" and "/usr/src/nvidia-current-535.309.01/dkms.conf" in reason


def test_compressed_modules_are_read(tmp_path: Path) -> None:
    base = f"usr/lib/modules/{KERNEL_VERSION}/updates/dkms"
    gz = zlib.compressobj(wbits=31)
    members = gpu_members((f"{base}/nvidia-current.ko.xz", lzma.compress(module(KERNEL_VERSION))),
                          (f"{base}/nvidia-current-uvm.ko.gz", gz.compress(module(OLD_KERNEL)) + gz.flush()))
    status, reason = dkms_result(tmp_path, members)
    assert status == "fail" and reason.count("vermagic") == 1 and "uvm" in reason


@pytest.mark.parametrize("chunk_split", [0, 3, 9])
def test_vermagic_found_across_read_boundaries(chunk_split: int) -> None:
    class Trickle(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            return super().read(7 + chunk_split)

    assert scan_vermagic(Trickle(module("6.12.117+deb12-amd64", padding=40)), None).startswith(
        "6.12.117+deb12-amd64 SMP")
    assert scan_vermagic(io.BytesIO(b"no record here"), None) == "<no vermagic>"
