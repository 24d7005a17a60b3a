"""A store in S3-compatible object storage (`s3://bucket/prefix`), through boto3.

Endpoint, region and credentials come from the usual places (AWS_* variables,
AWS_ENDPOINT_URL, ~/.aws); `--endpoint-url` overrides the endpoint. Uploads record the
sha256 and md5 as object metadata so a re-publish can skip unchanged files without
downloading them; a single PUT or multipart upload is atomic for readers. The bytes are
hashed as they are sent and the upload is completed only when the md5 matches.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from metal_images.errors import MetalImagesError
from metal_images.identity import check_key, check_prefix
from metal_images.store.backend import ObjectInfo, Progress, check_uploaded

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

# boto3's defaults (8 MiB parts, 10 threads) above 8 MiB; kept explicit for the copy too
TRANSFER = TransferConfig()
MAX_PARTS = 10_000  # S3's limit per multipart upload
UPLOAD_THREADS = 4


def _content_type(key: str) -> str:
    if key.endswith((".txt", ".md5", ".sha256", ".sha512")):
        return "text/plain"
    if key.endswith(".json"):
        return "application/json"
    return "application/octet-stream"


class S3Backend:
    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None) -> None:
        self.bucket = bucket
        self.prefix = check_prefix(prefix.strip("/")) if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.client: S3Client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"}),
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _fail(self, action: str, key: str, exc: Exception) -> MetalImagesError:
        return MetalImagesError(f"{self.url}/{key}: {action} failed: {exc}")

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._fail("stat", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("stat", key, exc) from exc
        etag = head.get("ETag", "").strip('"')
        meta = head.get("Metadata", {})
        md5 = meta.get("md5") or (etag if etag and "-" not in etag else None)
        return ObjectInfo(key, head["ContentLength"], head["LastModified"], etag, meta.get("sha256"), md5)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        full = self.prefix + check_prefix(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for obj in page.get("Contents", []):
                    etag = obj.get("ETag", "").strip('"')
                    md5 = etag if etag and "-" not in etag else None
                    yield ObjectInfo(
                        obj["Key"][len(self.prefix) :], obj["Size"], obj["LastModified"], etag, None, md5
                    )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("list", prefix or "/", exc) from exc

    def sha256(self, key: str) -> str | None:
        info = self.stat(key)
        return info.sha256 if info else None

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("read", key, exc) from exc

    def put_file(self, key: str, source: Path, *, sha256: str, md5: str, progress: Progress | None) -> str:
        extra: dict[str, Any] = {
            "Metadata": {"sha256": sha256, "md5": md5},
            "ContentType": _content_type(key),
            "CacheControl": "no-store",  # like upstream's upload: stable/ is overwritten in place
        }
        try:
            with source.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size <= TRANSFER.multipart_threshold:
                    data = handle.read()
                    uploaded = hashlib.md5(data, usedforsecurity=False).hexdigest()
                    check_uploaded(key, source, md5, uploaded)
                    self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra)
                    if progress:
                        progress(len(data))
                    return uploaded
                return self._put_multipart(key, source, handle, size, md5, extra, progress)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("upload", key, exc) from exc

    def _put_multipart(self, key: str, source: Path, handle: Any, size: int, md5: str,
                       extra: dict[str, Any], progress: Progress | None) -> str:
        """Parts read (and md5-hashed) in order, sent by a few threads; the upload is
        completed (made visible) only when the md5 matches, and aborted on any failure."""
        full_key = self._key(key)
        part_size = max(TRANSFER.multipart_chunksize, -(-size // MAX_PARTS))
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=full_key, **extra)["UploadId"]
        digest = hashlib.md5(usedforsecurity=False)

        def send(number: int, data: bytes) -> Any:
            answer = self.client.upload_part(Bucket=self.bucket, Key=full_key, UploadId=upload_id,
                                             PartNumber=number, Body=data)
            if progress:
                progress(len(data))
            return {"PartNumber": number, "ETag": answer["ETag"]}

        try:
            with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
                pending: list[Future[Any]] = []
                number = 0
                while data := handle.read(part_size):
                    digest.update(data)
                    number += 1
                    pending.append(pool.submit(send, number, data))
                    while sum(not f.done() for f in pending) >= UPLOAD_THREADS * 2:
                        wait(pending, return_when=FIRST_COMPLETED)  # bounded memory: a few parts
                parts = [f.result() for f in pending]
            check_uploaded(key, source, md5, digest.hexdigest())
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=full_key, UploadId=upload_id,
                                                  MultipartUpload={"Parts": parts})
        except BaseException:
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full_key, UploadId=upload_id)
            raise
        return digest.hexdigest()

    def set_lock(self, prefix: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # S3 has no locks; publish compares before it completes

    def clean_leftovers(self, prefix: str, before: dt.datetime) -> Sequence[str]:
        """Abort the multipart uploads below `prefix` begun before `before` (a killed
        publish leaves them behind, invisible but billed)."""
        removed: list[str] = []
        try:
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + check_prefix(prefix)):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < before:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                           UploadId=upload["UploadId"])
                        removed.append(f"{upload['Key'][len(self.prefix):]} (unfinished multipart upload)")
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("clean", prefix or "/", exc) from exc
        return removed

    def copy(self, source_key: str, dest_key: str) -> None:
        # managed copy: CopyObject, or UploadPartCopy above the threshold; metadata is kept
        try:
            self.client.copy(
                {"Bucket": self.bucket, "Key": self._key(source_key)},
                self.bucket,
                self._key(dest_key),
                Config=TRANSFER,
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("copy", source_key, exc) from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("delete", key, exc) from exc

    def http_base(self) -> str:
        env = os.environ.get("METAL_IMAGES_BASE_URL")
        if env:
            return env.rstrip("/") + "/"
        if self.endpoint_url:
            return f"{self.endpoint_url.rstrip('/')}/{self.bucket}/{self.prefix}"
        region = self.client.meta.region_name or "us-east-1"
        return f"https://{self.bucket}.s3.{region}.amazonaws.com/{self.prefix}"
