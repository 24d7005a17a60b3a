"""publish / release / store ls / store diff against both backends: a directory and a local
S3 server (moto's ThreadedMotoServer on 127.0.0.1, a real HTTP S3 API).

A publish killed between the image and its .md5 is never visible as complete, and
re-running completes it. The kill is real: the publishing process SIGKILLs itself right
before the .md5 upload (no exception handlers, no cleanup run), on both backends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from metal_images.artifact.registry import IMAGE, MD5, PACKAGES, SBOM, SHA256
from metal_images.cli import main
from metal_images.store import open_store
from metal_images.store.backend import Backend
from metal_images.store.listing import list_sets
from tests.support.store_sample import DEFAULT_PACKAGES, local_s3, make_artifact_set

pytestmark = pytest.mark.timeout(120)


@dataclass
class Store:
    url: str
    backend: Backend
    endpoint: str | None


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "file":
        root = tmp_path / "store"
        root.mkdir()
        yield Store(f"file://{root}", open_store(f"file://{root}"), None)
        return
    with local_s3() as s3:
        url = f"s3://{s3.bucket}"
        yield Store(url, open_store(url, endpoint_url=s3.endpoint_url), s3.endpoint_url)


def cli(store: Store, *args: str) -> Result:
    extra = ["--store", store.url] + (["--endpoint-url", store.endpoint] if store.endpoint else [])
    return CliRunner().invoke(main, [*args, *extra], catch_exceptions=False)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def mtimes(store: Store, prefix: str) -> dict[str, object]:
    return {o.key: o.modified for o in store.backend.list(prefix)}


def test_publish_is_ordered_idempotent_and_replaces_changed_files(store: Store, tmp_path: Path) -> None:
    directory = make_artifact_set(tmp_path / "out/stable/debian/12")
    ok(cli(store, "publish", str(directory)))
    prefix = "metal-os/stable/debian/12/"
    assert store.backend.read_bytes(prefix + IMAGE) == (directory / IMAGE).read_bytes()
    assert store.backend.read_bytes(prefix + MD5) == (directory / MD5).read_bytes()
    first = mtimes(store, prefix)
    assert len(first) == 5

    again = ok(cli(store, "-v", "publish", str(directory)))
    assert "already published" in again.output
    assert mtimes(store, prefix) == first  # nothing rewritten

    make_artifact_set(directory, content=b"a new build")
    (directory / SBOM).write_text("{}")
    plan = ok(cli(store, "publish", str(directory), "--dry-run")).output
    assert plan.index("retract") < plan.index("upload   img.tar.lz4") < plan.index("upload   img.tar.lz4.md5")
    assert "skip     packages.txt" in plan
    assert store.backend.read_bytes(prefix + MD5) != (directory / MD5).read_bytes()  # dry run changed nothing
    ok(cli(store, "publish", str(directory)))
    assert store.backend.read_bytes(prefix + IMAGE) == (directory / IMAGE).read_bytes()
    assert store.backend.read_bytes(prefix + MD5) == (directory / MD5).read_bytes()
    assert store.backend.stat(prefix + SBOM) is not None


def test_release_copies_stable_and_describes_it(store: Store, tmp_path: Path) -> None:
    debian = make_artifact_set(tmp_path / "out/stable/debian/12")
    firewall = make_artifact_set(tmp_path / "out/stable/firewall/3.0-ubuntu", content=b"fw")
    ok(cli(store, "publish", str(debian), str(firewall)))
    api = tmp_path / "api.yaml"
    result = ok(
        cli(
            store,
            "release",
            "--date",
            "20261125",
            "--base-url",
            "http://images.example/",
            "--api-yaml",
            str(api),
            "--expiration-date",
            "2027-05-25",
        )
    )
    assert "| IMAGE | URL | CHECKSUM | PACKAGES |" in result.output
    assert ("| metal-os/20261125/debian/12 | [img.tar.lz4](http://images.example/metal-os/20261125/debian/12/"
            "img.tar.lz4) |") in result.output
    for name in (IMAGE, MD5, PACKAGES):
        assert (
            store.backend.read_bytes(f"metal-os/20261125/firewall/3.0-ubuntu/{name}")
            == (firewall / name).read_bytes()
        )
    entries = {e["id"]: e for e in yaml.safe_load(api.read_text())}
    assert set(entries) == {"debian-12.0.20261125", "firewall-ubuntu-3.0.20261125"}
    fw = entries["firewall-ubuntu-3.0.20261125"]
    assert fw["features"] == ["firewall"] and fw["expirationDate"] == "2027-05-25T00:00:00Z"
    assert fw["url"] == "http://images.example/metal-os/20261125/firewall/3.0-ubuntu/img.tar.lz4"

    # a second release of the same content is a no-op; a changed stable is refused without --force
    ok(cli(store, "release", "--date", "20261125", "debian"))
    make_artifact_set(debian, content=b"rebuilt")
    ok(cli(store, "publish", str(debian)))
    refused = cli(store, "release", "--date", "20261125", "debian/12")
    assert refused.exit_code == 2 and "refusing to change the dated release" in refused.output
    ok(cli(store, "release", "--date", "20261125", "debian/12", "--force"))
    assert store.backend.read_bytes("metal-os/20261125/debian/12/" + MD5) == (debian / MD5).read_bytes()


def test_publish_refuses_to_overwrite_a_dated_release(store: Store, tmp_path: Path) -> None:
    directory = make_artifact_set(tmp_path / "out/20261125/debian/12")
    ok(cli(store, "publish", str(directory), "--channel", "20261125"))
    make_artifact_set(directory, content=b"other")
    result = cli(store, "publish", str(directory), "--channel", "20261125")
    assert result.exit_code == 2 and "--force" in result.output
    ok(cli(store, "publish", str(directory), "--channel", "20261125", "--force"))


def test_bad_channel_and_traversal_are_refused(store: Store, tmp_path: Path) -> None:
    directory = make_artifact_set(tmp_path / "out/stable/debian/12")
    for channel in ("../../etc", "master", "pull_requests/x/../../y"):
        result = cli(store, "publish", str(directory), "--channel", channel)
        assert result.exit_code == 2 and f"channel '{channel}'" in result.output
    result = cli(store, "store", "diff", "stable/../../etc/passwd", "stable/debian/12")
    assert result.exit_code == 2 and "refused" in result.output
    assert list(store.backend.list("")) == []


def test_store_ls_and_diff(store: Store, tmp_path: Path) -> None:
    old = make_artifact_set(tmp_path / "a/stable/debian/12")
    ok(cli(store, "publish", str(old)))
    ok(cli(store, "release", "--date", "20261125"))
    packages = dict(DEFAULT_PACKAGES)
    del packages["linux-image-6.1.0-18-amd64"]
    packages |= {
        "linux-image-6.1.0-20-amd64": "6.1.85-1",
        "linux-image-amd64": "6.1.85-1",
        "curl": "7.88.1-10",
    }
    new = make_artifact_set(tmp_path / "b/stable/debian/12", content=b"new", packages=packages)
    ok(cli(store, "publish", str(new)))

    rows = json.loads(ok(cli(store, "store", "ls", "--json")).output)
    assert [(r["channel"], r["complete"]) for r in rows] == [("20261125", True), ("stable", True)]
    assert rows[1]["image_size"] == (new / IMAGE).stat().st_size

    diff = json.loads(
        ok(cli(store, "store", "diff", "20261125/debian/12", "stable/debian/12", "--json")).output
    )
    assert diff["added"] == {"curl": "7.88.1-10", "linux-image-6.1.0-20-amd64": "6.1.85-1"}
    assert diff["removed"] == {"linux-image-6.1.0-18-amd64": "6.1.76-1"}
    assert diff["changed"] == {"linux-image-amd64": {"from": "6.1.76-1", "to": "6.1.85-1"}}
    assert diff["kernel"]["to"].startswith("6.1.0-20-amd64")
    text = ok(cli(store, "store", "diff", "20261125/debian/12", "stable/debian/12")).output
    assert "kernel: 6.1.0-18-amd64 (6.1.76-1) -> 6.1.0-20-amd64 (6.1.85-1)" in text
    missing = cli(store, "store", "diff", "stable/debian/12", "stable/ubuntu/24.04")
    assert missing.exit_code == 1 and "no packages.txt" in missing.output


def test_release_skips_incomplete_sets_and_refuses_to_name_them(store: Store, tmp_path: Path) -> None:
    good = make_artifact_set(tmp_path / "out/stable/debian/12")
    half = make_artifact_set(tmp_path / "out/stable/ubuntu/24.04")
    ok(cli(store, "publish", str(good), str(half)))
    store.backend.delete("metal-os/stable/ubuntu/24.04/" + MD5)
    result = ok(cli(store, "release", "--date", "20261126"))
    assert "debian/12" in result.output and "ubuntu/24.04" not in result.output
    named = cli(store, "release", "--date", "20261126", "ubuntu/24.04")
    assert named.exit_code == 2 and "incomplete (missing img.tar.lz4.md5)" in named.output
    assert [s.ref.short for s in list_sets(store.backend) if s.ref.channel.path == "20261126"] == [
        "20261126/debian/12"
    ]


# runs the real CLI; the uploader dies by SIGKILL when it is about to write the .md5
KILLER = textwrap.dedent("""
    import os, signal, sys
    from metal_images.store.file_backend import FileBackend
    from metal_images.store.s3_backend import S3Backend

    def dying(original):
        def put_file(self, key, *args, **kwargs):
            if key.endswith(".md5"):
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, key, *args, **kwargs)
        return put_file

    def dying_copy(original):
        def copy(self, source_key, dest_key):
            if dest_key.endswith(".md5"):
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, source_key, dest_key)
        return copy

    FileBackend.put_file = dying(FileBackend.put_file)
    S3Backend.put_file = dying(S3Backend.put_file)
    FileBackend.copy = dying_copy(FileBackend.copy)
    S3Backend.copy = dying_copy(S3Backend.copy)
    from metal_images.cli import main
    sys.argv = ["metal-images", *sys.argv[1:]]
    main()
""")


def publish_and_die(store: Store, directory: Path) -> None:
    die(store, "publish", str(directory))


def die(store: Store, *cli_args: str) -> None:
    args = [sys.executable, "-c", KILLER, *cli_args, "--store", store.url]
    if store.endpoint:
        args += ["--endpoint-url", store.endpoint]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert done.returncode == -signal.SIGKILL, done.stderr


def the_set(store: Store) -> tuple[bool, list[str]]:
    (only,) = [s for s in list_sets(store.backend) if s.ref.short == "stable/debian/12"]
    return only.complete, sorted(only.files)


def test_killed_first_publish_is_incomplete_until_rerun(store: Store, tmp_path: Path) -> None:
    directory = make_artifact_set(tmp_path / "out/stable/debian/12")
    publish_and_die(store, directory)
    complete, files = the_set(store)
    assert not complete and IMAGE in files and MD5 not in files
    rows = json.loads(ok(cli(store, "store", "ls", "--json")).output)
    assert rows[0]["complete"] is False and rows[0]["missing"] == [MD5]
    assert "INCOMPLETE" in ok(cli(store, "store", "ls")).output

    plan = ok(cli(store, "publish", str(directory), "--dry-run")).output
    assert "skip     img.tar.lz4 " in plan and "upload   img.tar.lz4.md5" in plan
    ok(cli(store, "publish", str(directory)))
    assert the_set(store)[0]
    assert store.backend.read_bytes("metal-os/stable/debian/12/" + MD5) == (directory / MD5).read_bytes()


def test_killed_republish_never_pairs_the_old_md5_with_the_new_image(store: Store, tmp_path: Path) -> None:
    directory = make_artifact_set(tmp_path / "out/stable/debian/12")
    ok(cli(store, "publish", str(directory)))
    make_artifact_set(directory, content=b"the next build")
    publish_and_die(store, directory)
    complete, files = the_set(store)
    assert not complete and MD5 not in files  # the old .md5 was retracted before the new image went up
    prefix = "metal-os/stable/debian/12/"
    assert store.backend.read_bytes(prefix + IMAGE) == (directory / IMAGE).read_bytes()
    assert store.backend.read_bytes(prefix + SHA256) == (directory / SHA256).read_bytes()
    ok(cli(store, "publish", str(directory)))
    assert the_set(store)[0]
    assert store.backend.read_bytes(prefix + MD5) == (directory / MD5).read_bytes()


def write_catalog(root: Path) -> Path:
    for family, body in {
        "debian": 'name: debian\nversion: "12"\ndescription: Debian 12\n'
        "distribution: debian\nsuite: bookworm\n",
        "firewall": 'name: firewall\nversion: "3.0-ubuntu"\nfrom: debian\nsupported: false\n'
        "features: [firewall]\nrole: firewall\n",
    }.items():
        (root / family).mkdir(parents=True)
        (root / family / "image.yaml").write_text(body)
    return root


def test_catalog_names_and_release_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAL_IMAGES_CATALOG", str(write_catalog(tmp_path / "catalog")))
    monkeypatch.setenv("METAL_IMAGES_OUTPUT", str(tmp_path / "out"))
    root = tmp_path / "store"
    root.mkdir()
    store = Store(str(root), open_store(str(root)), None)
    make_artifact_set(tmp_path / "out/stable/debian/12")
    make_artifact_set(tmp_path / "out/stable/firewall/3.0-ubuntu")
    make_artifact_set(tmp_path / "out/42-fix-grub/debian/12", content=b"pr")  # upstream's PR export folder
    ok(cli(store, "publish", "debian", "firewall"))
    ok(cli(store, "publish", "debian", "--channel", "pull_requests/42-fix-grub"))
    assert (root / "metal-os/pull_requests/42-fix-grub/debian/12/img.tar.lz4.md5").is_file()
    missing = cli(store, "publish", "firewall", "--channel", "20261125")
    assert missing.exit_code == 2 and "no export for channel 20261125" in missing.output
    unknown = cli(store, "publish", "nosuchimage")
    assert unknown.exit_code == 2 and "unknown image 'nosuchimage'" in unknown.output

    api = tmp_path / "api.yaml"
    dry = ok(cli(store, "release", "--date", "20261125", "--api-yaml", str(api), "--dry-run"))
    assert "copy     img.tar.lz4" in dry.output and "would write" in dry.output and not api.exists()
    assert not (root / "metal-os/20261125").exists()
    ok(cli(store, "release", "--date", "20261125", "firewall", "debian", "--api-yaml", str(api)))
    entries = {e["id"]: e for e in yaml.safe_load(api.read_text())}
    assert entries["debian-12.0.20261125"]["classification"] == "supported"
    assert entries["debian-12.0.20261125"]["description"] == "Debian 12"
    assert (
        entries["debian-12.0.20261125"]["url"]
        == "http://127.0.0.1:8080/metal-os/20261125/debian/12/img.tar.lz4"
    )
    firewall = entries["firewall-ubuntu-3.0.20261125"]
    assert (firewall["classification"], firewall["features"]) == ("preview", ["firewall"])
    assert "expirationDate" not in firewall


def test_killed_release_is_completed_without_force(store: Store, tmp_path: Path) -> None:
    directory = make_artifact_set(tmp_path / "out/stable/debian/12", payload_size=9 << 20)  # S3: multipart
    ok(cli(store, "publish", str(directory)))
    store.backend.put_file(
        "metal-os/stable/debian/12/NOTES", directory / PACKAGES, sha256="", md5="", progress=None
    )
    die(store, "release", "--date", "20261125")
    (dated,) = [s for s in list_sets(store.backend) if s.ref.channel.path == "20261125"]
    assert not dated.complete and IMAGE in dated.files
    ok(cli(store, "release", "--date", "20261125"))
    (dated,) = [s for s in list_sets(store.backend) if s.ref.channel.path == "20261125"]
    assert dated.complete and "NOTES" not in dated.files  # only artifact files are released
    assert store.backend.read_bytes(dated.ref.key(IMAGE)) == (directory / IMAGE).read_bytes()
