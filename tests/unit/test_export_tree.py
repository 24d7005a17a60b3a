"""Export of a small hand-made tree: reference tools accept the output, two exports are
byte-identical, the tar holds exactly what metal-hammer can extract."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import lz4.frame
import pytest

from metal_images.artifact import exporter, registry
from metal_images.artifact.exporter import ImageIdentity, export_tree
from metal_images.artifact.tartree import TreeScan, scan_tree
from metal_images.builder.state import BuildState
from metal_images.contract.report import check_archive
from metal_images.errors import MetalImagesError

IDENTITY = ImageIdentity("debian", "debian", "12", "stable")
IS_ROOT = os.geteuid() == 0
LONG_NAME = "usr/share/" + "deep/" * 25 + "file-with-a-name-longer-than-ustar-allows.txt"

DPKG_STATUS = """\
Package: bash
Status: install ok installed
Priority: required
Architecture: amd64
Version: 5.2.15-2+b2
Description: GNU Bourne Again SHell

Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0
Description: only its config files are left
"""


def make_tree(root: Path) -> Path:
    for d in ("boot", "etc/metal/networker", "usr/bin", "usr/lib", "var/lib/dpkg", "var/tmp", "dev/pts",
              "proc/1", "run/lock", "sys/kernel", "tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "usr/lib/os-release").write_text('ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian 12"\n')
    os.symlink("../usr/lib/os-release", root / "etc/os-release")
    os.symlink("usr/bin", root / "bin")
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n")
    (root / "usr/bin/bash").write_bytes(b"\x7fELF" + bytes(5000))
    (root / "usr/bin/bash").chmod(0o755)
    os.link(root / "usr/bin/bash", root / "usr/bin/rbash")
    (root / "usr/bin/sudo").write_bytes(b"setuid")
    (root / "usr/bin/sudo").chmod(0o4755)
    (root / "var/tmp").chmod(0o1777)
    (root / "boot/System.map-6.1.0-1-amd64").write_text("map\n")
    (root / "boot/vmlinuz-6.1.0-1-amd64").write_bytes(bytes(600))
    (root / "boot/initrd.img-6.1.0-1-amd64").write_bytes(b"initrd")
    (root / "var/lib/dpkg/status").write_text(DPKG_STATUS)
    (root / "proc/1/status").write_text("not exported")
    (root / "run/lock/x.pid").write_text("1")
    long_path = root / LONG_NAME
    long_path.parent.mkdir(parents=True)
    long_path.write_text("long\n")
    (root / "etc/caf\u00e9.conf").write_text("non-ascii name\n")
    os.mkfifo(root / "tmp/a-fifo")
    if IS_ROOT:
        os.chown(root / "etc/passwd", 0, 42)
        os.lchown(root / "etc/os-release", 1234, 5678)
    return root


def read_tar(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(lz4.frame.decompress(path.read_bytes())), mode="r:") as tar:
        return tar.getmembers()


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "rootfs")


@pytest.fixture()
def epoch(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    return 1_700_000_000


def test_reference_tools_accept_the_export(tree: Path, tmp_path: Path, epoch: int) -> None:
    out = tmp_path / "out"
    result = export_tree(tree, out, IDENTITY, threads=2)
    image = out / registry.IMAGE
    subprocess.run(["md5sum", "-c", registry.MD5], cwd=out, check=True, capture_output=True)
    subprocess.run(["sha256sum", "-c", registry.SHA256], cwd=out, check=True, capture_output=True)
    subprocess.run(["sha512sum", "-c", registry.SHA512], cwd=out, check=True, capture_output=True)
    subprocess.run(["lz4", "-t", str(image)], check=True, capture_output=True)
    tar_path = tmp_path / "img.tar"
    subprocess.run(["lz4", "-d", str(image), str(tar_path)], check=True, capture_output=True)
    listing = subprocess.run(["tar", "-tf", str(tar_path)], check=True, capture_output=True,
                             text=True).stdout.splitlines()
    assert listing[0] == "bin"  # sorted, relative, no "./" (docker export style)
    assert LONG_NAME in listing and "etc/caf\u00e9.conf" in listing
    assert len(listing) == result.stats.entries
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    subprocess.run(["tar", "-xf", str(tar_path), "-C", str(extracted), "--numeric-owner"], check=True,
                   capture_output=True)
    assert (extracted / "usr/bin/bash").read_bytes() == (tree / "usr/bin/bash").read_bytes()
    assert os.stat(extracted / "usr/bin/bash").st_ino == os.stat(extracted / "usr/bin/rbash").st_ino
    assert os.readlink(extracted / "etc/os-release") == "../usr/lib/os-release"
    assert (extracted / "usr/bin/sudo").stat().st_mode & 0o7777 == 0o4755
    assert (extracted / "var/tmp").stat().st_mode & 0o7777 == 0o1777
    assert (extracted / LONG_NAME).read_text() == "long\n"
    assert max(p.lstat().st_mtime for p in extracted.rglob("*")) <= epoch
    if IS_ROOT:
        assert (extracted / "etc/passwd").stat().st_gid == 42
        assert os.lstat(extracted / "etc/os-release").st_uid == 1234


def test_only_what_metal_hammer_can_extract(tree: Path, tmp_path: Path, epoch: int) -> None:
    result = export_tree(tree, tmp_path / "out", IDENTITY)
    members = read_tar(tmp_path / "out" / registry.IMAGE)
    names = [m.name for m in members]
    allowed = (tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE)
    assert all(m.type in allowed for m in members)
    assert {"proc", "sys", "dev", "run"} <= set(names)
    assert not [n for n in names if n.split("/")[0] in ("proc", "sys", "dev", "run") and "/" in n]
    assert "tmp/a-fifo" not in names and ("tmp/a-fifo", "fifo") in result.skipped
    assert all(m.mtime <= epoch for m in members) and all(m.uname == "" for m in members)
    hard = [m for m in members if m.islnk()]
    assert [(m.name, m.linkname) for m in hard] == [("usr/bin/rbash", "usr/bin/bash")]
    # per-directory name order, parents first
    assert names.index("usr") < names.index("usr/bin") < names.index("usr/bin/bash") < names.index("var")


def test_no_pax_global_header(tree: Path, tmp_path: Path, epoch: int) -> None:
    export_tree(tree, tmp_path / "out", IDENTITY)
    raw = lz4.frame.decompress((tmp_path / "out" / registry.IMAGE).read_bytes())
    typeflags = []
    names = [m.name + ("/" if m.isdir() else "") for m in read_tar(tmp_path / "out" / registry.IMAGE)]
    offset = 0
    while offset < len(raw) and raw[offset : offset + 512] != bytes(512):
        block = raw[offset : offset + 512]
        typeflags.append(block[156:157])
        size = int(block[124:136].strip(b"\0 ") or b"0", 8)
        offset += 512 + (size + 511) // 512 * 512
    assert b"g" not in typeflags
    # a PAX header only where ustar cannot hold the name: longer than 100 bytes or not ASCII
    needing = [n for n in names if len(n.encode()) > 100 or not n.isascii()]
    assert len(needing) >= 2
    assert typeflags.count(b"x") == len(needing)


def test_two_exports_are_byte_identical(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    export_tree(tree, tmp_path / "a", IDENTITY, threads=1)
    os.utime(tree / "usr/bin/bash")  # a newer mtime would move the default epoch: touch only one file
    export_tree(tree, tmp_path / "b", IDENTITY, threads=2)
    export_tree(tree, tmp_path / "c", IDENTITY, threads=2)
    names = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert names == sorted(registry.publish_order())
    for name in names:
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "c" / name).read_bytes(), name


def test_manifests(tree: Path, tmp_path: Path, epoch: int) -> None:
    import json

    out = tmp_path / "out"
    result = export_tree(tree, out, IDENTITY, build_state=BuildState(
        family="debian", name="debian", version="12", built_at="2024-01-01T00:00:00+00:00", parent=None,
        stages={"bootstrap": "abc"}, args={"FRR_VERSION": "frr-10"}, tools={"mmdebstrap": "1.3.5"}))
    packages = (out / registry.PACKAGES).read_text()
    assert "ii  bash" in packages and "Desired=Unknown" in packages
    info = json.loads((out / registry.IMAGE_INFO).read_text())
    assert info["os_release"]["ID"] == "debian"
    assert info["kernel"]["kernel"] == "/boot/vmlinuz-6.1.0-1-amd64"
    assert info["kernel"]["initrd"] == "/boot/initrd.img-6.1.0-1-amd64"
    assert [p["name"] for p in info["packages"]["list"]] == ["bash", "libc6"]
    assert {u["name"] for u in info["users"]} == {"root", "_apt"}
    assert info["file_count"]["entries"] == result.stats.entries
    assert info["size"]["compressed_bytes"] == (out / registry.IMAGE).stat().st_size
    sbom = json.loads((out / registry.SBOM).read_text())
    purls = {c["purl"] for c in sbom["components"]}
    assert "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc" in purls
    assert sbom["metadata"]["component"]["type"] == "operating-system"
    build = json.loads((out / registry.BUILD_INFO).read_text())
    assert build["stages"] == {"bootstrap": "abc"} and build["tools"]["mmdebstrap"] == "1.3.5"
    assert build["export"]["source_date_epoch"] == epoch  # the environment wins over built_at


def test_epoch_defaults_to_the_build_time(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    result = export_tree(tree, tmp_path / "out", IDENTITY,
                         build_state=BuildState("debian", "debian", "12", None, {}, {}, {},
                                                built_at="2024-01-01T00:00:00+00:00"))
    assert result.source_date_epoch == 1704067200
    assert max(m.mtime for m in read_tar(tmp_path / "out" / registry.IMAGE)) == 1704067200


def test_replaces_an_old_export_and_leaves_no_temp_dirs(tree: Path, tmp_path: Path, epoch: int) -> None:
    out = tmp_path / "stable/debian/12"
    out.mkdir(parents=True)
    (out / "stale-file").write_text("old")
    export_tree(tree, out, IDENTITY)
    assert not (out / "stale-file").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["12"]


def test_failure_leaves_the_old_export_untouched(
    tree: Path, tmp_path: Path, epoch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "12"
    out.mkdir()
    (out / registry.IMAGE).write_text("old image")

    def scan_then_change(root: Path) -> TreeScan:
        scan = scan_tree(root)
        (root / "usr/bin/sudo").write_bytes(b"a build wrote into the tree meanwhile")
        return scan

    monkeypatch.setattr(exporter, "scan_tree", scan_then_change)
    with pytest.raises(MetalImagesError, match="changed size"):
        export_tree(tree, out, IDENTITY)
    with pytest.raises(MetalImagesError, match="no such directory"):
        export_tree(tree / "missing", out, IDENTITY)
    assert (out / registry.IMAGE).read_text() == "old image"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["12", "rootfs"]


def test_export_passes_the_tar_rules_of_check(tree: Path, tmp_path: Path, epoch: int) -> None:
    export_tree(tree, tmp_path / "out", IDENTITY)
    report = check_archive(str(tmp_path / "out" / registry.IMAGE))
    status = {r.rule.id: r.status for r in report.results}
    for rule_id in ("lz4-frame", "md5-sidecar", "sha-sidecars", "tar-readable", "tar-no-global-header",
                    "tar-entry-types", "tar-names", "tar-links", "pseudo-fs-empty", "kernel", "os-release",
                    "uid-1000-free", "networker-dir"):
        assert status[rule_id] == "pass", rule_id
    assert status["installer"] == "fail"  # the hand-made tree has none
