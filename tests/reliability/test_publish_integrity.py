"""publish never marks a wrong set complete (issue 14.6), on a file store and on S3 (moto's
server on 127.0.0.1, a real HTTP S3 API):

- the image is hashed while it is uploaded; if the bytes are not what its .md5 says, the
  .md5 is not written (and a wrong image is not left under the set's key on S3);
- two publishes of one set cannot leave the image of one and the .md5 of the other: the
  second publish is started (as a real process) right when the first is about to complete;
- temp files and multipart uploads of killed publishes are cleaned by the next publish of
  the set and by `store clean`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from tests.support.store_sample import local_s3, make_artifact_set

from metal_images.artifact.registry import IMAGE, MD5
from metal_images.store import open_store
from metal_images.store.backend import Backend
from metal_images.store.listing import list_sets

pytestmark = pytest.mark.timeout(180)
CLI = str(Path(sys.executable).with_name("metal-images"))
PREFIX = "metal-os/stable/debian/12/"


@dataclass
class Store:
    url: str
    backend: Backend
    endpoint: str | None
    bucket: str = ""

    def args(self) -> list[str]:
        return ["--store", self.url] + (["--endpoint-url", self.endpoint] if self.endpoint else [])

    def objects(self) -> list[str]:
        return sorted(o.key for o in self.backend.list(PREFIX))


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "file":
        root = tmp_path / "store"
        root.mkdir()
        yield Store(f"file://{root}", open_store(f"file://{root}"), None)
        return
    with local_s3() as s3:
        url = f"s3://{s3.bucket}"
        yield Store(url, open_store(url, endpoint_url=s3.endpoint_url), s3.endpoint_url, s3.bucket)


def publish(store: Store, directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "publish", str(directory), *store.args()], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def flip_a_byte(path: Path, offset: int) -> None:
    """What a disk error or a second export racing this publish does: same size, other bytes."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def set_is_consistent(store: Store) -> bool:
    """Complete only with the .md5 of the image actually stored beside it."""
    (the_set,) = [s for s in list_sets(store.backend) if s.ref.short == "stable/debian/12"]
    if not the_set.complete:
        return True
    image = store.backend.read_bytes(PREFIX + IMAGE)
    return store.backend.read_bytes(PREFIX + MD5).split()[0].decode() == hashlib.md5(image).hexdigest()


@pytest.mark.parametrize("payload", [0, 9 << 20], ids=["small", "multipart"])
def test_an_image_that_differs_from_its_md5_is_never_marked_complete(
        store: Store, tmp_path: Path, payload: int) -> None:
    directory = make_artifact_set(tmp_path / "out/stable/debian/12", payload_size=payload)
    flip_a_byte(directory / IMAGE, (directory / IMAGE).stat().st_size // 2)
    error = one_error(publish(store, directory))
    assert "changed while publishing it" in error and "md5" in error, error
    assert PREFIX + MD5 not in store.objects()
    assert PREFIX + IMAGE not in store.objects()  # the wrong bytes are not stored either
    if store.bucket:
        uploads = boto3.client("s3", endpoint_url=store.endpoint).list_multipart_uploads(Bucket=store.bucket)
        assert uploads.get("Uploads", []) == []


# runs the real CLI; right before it writes the .md5, a second real publish of the same set
# (with other content) runs to its end
RACER = textwrap.dedent("""
    import os, subprocess, sys
    from metal_images.store.file_backend import FileBackend
    from metal_images.store.s3_backend import S3Backend

    other, result_file = os.environ.pop("RACE_OTHER"), os.environ.pop("RACE_RESULT")

    def racing(original):
        def put_file(self, key, *args, **kwargs):
            if key.endswith(".md5") and other:
                argv = [sys.executable, "-m", "metal_images.cli", "publish", other, *sys.argv[3:]]
                done = subprocess.run(argv, capture_output=True, text=True)
                with open(result_file, "w") as out:
                    out.write(f"{done.returncode}\\n{done.stderr}")
            return original(self, key, *args, **kwargs)
        return put_file

    FileBackend.put_file = racing(FileBackend.put_file)
    S3Backend.put_file = racing(S3Backend.put_file)
    from metal_images.cli import main
    sys.argv = ["metal-images", *sys.argv[1:]]
    main()
""")


def test_two_publishes_of_one_set_never_mix(store: Store, tmp_path: Path) -> None:
    first = make_artifact_set(tmp_path / "a/stable/debian/12", content=b"build one")
    second = make_artifact_set(tmp_path / "b/stable/debian/12", content=b"build two")
    result_file = tmp_path / "second.txt"
    env = {**os.environ, "RACE_OTHER": str(second), "RACE_RESULT": str(result_file)}
    racing = subprocess.run([sys.executable, "-c", RACER, "publish", str(first), *store.args()],
                            capture_output=True, text=True, timeout=150, env=env)
    second_code, second_err = result_file.read_text().split("\n", 1)
    assert set_is_consistent(store)
    if store.bucket:  # no lock on S3: the second publish won, the first refuses to complete
        assert second_code == "0", second_err
        assert "not the image this publish uploaded" in one_error(racing)
        assert store.backend.read_bytes(PREFIX + IMAGE) == (second / IMAGE).read_bytes()
        assert publish(store, second).returncode == 0  # whatever is left, a re-run completes it
        assert set_is_consistent(store)
    else:  # the lock held the second one off; the first completes
        assert second_code != "0" and "another publish of this set is running" in second_err, second_err
        assert racing.returncode == 0, racing.stderr
        assert store.backend.read_bytes(PREFIX + IMAGE) == (first / IMAGE).read_bytes()
    (the_set,) = list_sets(store.backend)
    assert the_set.complete


def leave_leftovers(store: Store, key: str) -> None:
    """What a publish killed mid-upload leaves: a hidden temp file, or a multipart upload."""
    if store.bucket:
        client = boto3.client("s3", endpoint_url=store.endpoint)
        upload = client.create_multipart_upload(Bucket=store.bucket, Key=key)
        client.upload_part(Bucket=store.bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1,
                           Body=os.urandom(1000))
        return
    root = Path(store.url.removeprefix("file://"))
    temp = root / Path(key).parent / f".{Path(key).name}.k1ll3d.tmp"
    temp.parent.mkdir(parents=True, exist_ok=True)
    temp.write_bytes(os.urandom(1000))
    old = time.time() - 7200
    os.utime(temp, (old, old))


def leftovers(store: Store) -> list[str]:
    if store.bucket:
        client = boto3.client("s3", endpoint_url=store.endpoint)
        return sorted(u["Key"] for u in client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []))
    root = Path(store.url.removeprefix("file://"))
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(".*.tmp"))


def test_the_next_publish_of_a_set_cleans_what_a_killed_one_left(store: Store, tmp_path: Path) -> None:
    leave_leftovers(store, PREFIX + IMAGE)
    leave_leftovers(store, "metal-os/stable/ubuntu/22.04/" + IMAGE)  # another set: not this publish's
    assert len(leftovers(store)) == 2
    result = publish(store, make_artifact_set(tmp_path / "out/stable/debian/12"))
    assert result.returncode == 0, result.stderr
    assert "left by an interrupted publish" in result.stderr
    assert [k for k in leftovers(store) if k.startswith(PREFIX)] == []
    assert len(leftovers(store)) == 1


def test_store_clean_removes_leftovers_of_the_whole_store(store: Store) -> None:
    leave_leftovers(store, PREFIX + IMAGE)
    leave_leftovers(store, "metal-os/20240101/ubuntu/22.04/" + IMAGE)
    result = subprocess.run([CLI, "store", "clean", "--older-than", "0", *store.args()],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2 and "2 leftover(s) removed" in result.stderr
    assert leftovers(store) == []
