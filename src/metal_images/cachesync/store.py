"""Read-only access to an image store in the layout `metal-os/<channel>/<os>/<version>/img.tar.lz4`.

Three readers behind one small interface:
- `LocalStore`: a directory (`/srv/store` or `file:///srv/store`),
- `S3Store`: a bucket through boto3 (`s3://bucket`, endpoint configurable; anonymous
  unless AWS credentials are set, like upstream's anonymous client),
- `HttpStore`: `http(s)://host/prefix` (key appended to the base) or, without a base,
  each image's own URL. HTTP has no listing: the candidates are asked with HEAD.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from metal_images.cachesync import http
from metal_images.cachesync.retry import FetchError, TransientError
from metal_images.errors import ConfigError
from metal_images.speed import SpeedRule

SIDECAR_LIMIT = 64 << 10  # an .md5 line is about 50 bytes: more than this is read no further


@dataclass(frozen=True)
class ObjectRef:
    """A file in the store: its key (URL path without `/`) and the URL the metal-api gave."""

    key: str
    url: str = ""

    def sidecar(self, suffix: str) -> ObjectRef:
        """The checksum file beside the object: `.md5`, `.sha256`."""
        return ObjectRef(self.key + suffix, self.url + suffix if self.url else "")

    def md5(self) -> ObjectRef:
        return self.sidecar(".md5")

    def sha256(self) -> ObjectRef:
        return self.sidecar(".sha256")


class Source(Protocol):
    """A stream of bytes the downloader reads into its own buffers."""

    def readinto(self, buffer: memoryview) -> int: ...


class SizedSource(Source, Protocol):
    """A store's stream, with the length the store announced for it (Content-Length, the
    object's size), or None when it did not say. A stream that ends early just stops
    (http.client does not raise), so the downloader compares the count with this."""

    @property
    def length(self) -> int | None: ...


class _FileSource:
    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.length: int | None = os.fstat(handle.fileno()).st_size

    def readinto(self, buffer: memoryview) -> int:
        return int(self.handle.readinto(buffer) or 0)


class Store(Protocol):
    description: str

    def listing(self, refs: Sequence[ObjectRef]) -> dict[str, int]:
        """Key -> size for the store's objects (at least those among `refs` and their `.md5`)."""
        ...

    def open(self, ref: ObjectRef) -> Any:
        """A context manager yielding a `SizedSource` for the object's bytes."""
        ...

    def read_text(self, ref: ObjectRef) -> str: ...


class LocalStore:
    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ConfigError(f"store directory {root} does not exist")
        self.root = root
        self.description = str(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise FetchError(f"key {key!r} leaves the store {self.root}")
        return path

    def listing(self, refs: Sequence[ObjectRef]) -> dict[str, int]:
        found: dict[str, int] = {}
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(dirpath) / name
                found[path.relative_to(self.root).as_posix()] = path.stat().st_size
        return found

    @contextmanager
    def open(self, ref: ObjectRef) -> Iterator[SizedSource]:
        try:
            with self._path(ref.key).open("rb", buffering=0) as handle:
                yield _FileSource(handle)
        except FileNotFoundError as exc:
            raise FetchError(f"{self.description}: {ref.key} is missing") from exc

    def read_text(self, ref: ObjectRef) -> str:
        try:
            with self._path(ref.key).open("rb") as handle:
                return handle.read(SIDECAR_LIMIT).decode("utf-8", errors="replace")
        except FileNotFoundError as exc:
            raise FetchError(f"{self.description}: {ref.key} is missing") from exc


class _BodySource:
    """botocore's StreamingBody as a `Source` (it has read(n), not readinto)."""

    def __init__(self, body: Any, what: str, length: int | None) -> None:
        self.body = body
        self.what = what
        self.length = length

    def readinto(self, buffer: memoryview) -> int:
        # one socket read at a time where urllib3 offers it, so a trickle is seen as it arrives
        raw = getattr(self.body, "_raw_stream", None)
        read = raw.read1 if raw is not None and hasattr(raw, "read1") else self.body.read
        try:
            data = read(len(buffer))
        except Exception as exc:  # botocore/urllib3 raise many kinds; all of them mean "try again"
            raise TransientError(f"{self.what}: {type(exc).__name__}: {exc}") from exc
        buffer[: len(data)] = data
        return len(data)


class S3Store:
    def __init__(self, bucket: str, endpoint: str, *, timeout: float, attempts: int) -> None:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        # anonymous like upstream, unless credentials are configured in the environment
        signed = bool(os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"))
        config = Config(
            signature_version=None if signed else UNSIGNED,
            connect_timeout=timeout, read_timeout=timeout,
            retries={"max_attempts": max(1, attempts), "mode": "standard"},
        )
        self.bucket = bucket
        self.description = f"s3://{bucket} at {endpoint}"
        self.client = boto3.client("s3", endpoint_url=endpoint,
                                   region_name=os.environ.get("AWS_DEFAULT_REGION", "dummy"), config=config)

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            message = f"{self.description}: {what}: {exc.response.get('Error', {}).get('Code', status)}"
            raise (TransientError if status >= 500 or status == 429 else FetchError)(message) from exc
        except BotoCoreError as exc:
            raise TransientError(f"{self.description}: {what}: {exc}") from exc

    def listing(self, refs: Sequence[ObjectRef]) -> dict[str, int]:
        found: dict[str, int] = {}
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list objects", self.client.list_objects_v2, **kwargs)
            for obj in page.get("Contents", []):
                found[obj["Key"]] = int(obj["Size"])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return found

    @contextmanager
    def open(self, ref: ObjectRef) -> Iterator[SizedSource]:
        answer = self._call(f"get {ref.key}", self.client.get_object, Bucket=self.bucket, Key=ref.key)
        body = answer["Body"]
        length = answer.get("ContentLength")
        announced = int(length) if length is not None else None
        try:
            yield _BodySource(body, f"{self.description}: get {ref.key}", announced)
        finally:
            body.close()

    def read_text(self, ref: ObjectRef) -> str:
        with self.open(ref) as source:
            assert isinstance(source, _BodySource)
            try:
                return bytes(source.body.read(SIDECAR_LIMIT)).decode("utf-8", errors="replace")
            except Exception as exc:  # see _BodySource.readinto
                raise TransientError(f"{self.description}: get {ref.key}: {exc}") from exc


class _HttpSource:
    def __init__(self, response: Any, what: str) -> None:
        self.response = response
        self.what = what
        announced = response.getheader("Content-Length")
        self.length = int(announced) if announced and announced.strip().isdigit() else None

    def readinto(self, buffer: memoryview) -> int:
        # read1: what one socket read brings (readinto would wait for the whole buffer, and a
        # trickling server would keep it waiting unseen by the speed rule)
        try:
            data = self.response.read1(len(buffer))
        except http.TRANSIENT_OS_ERRORS as exc:
            raise TransientError(f"{self.what}: {type(exc).__name__}: {exc}") from exc
        buffer[: len(data)] = data
        return len(data)


class HttpStore:
    """A store over plain HTTP: `base` + key, or (base None) the image's own URL."""

    def __init__(self, base: str | None, *, timeout: float, speed: SpeedRule | None = None) -> None:
        self.base = base.rstrip("/") + "/" if base else None
        self.timeout = timeout
        self.speed = speed
        self.description = base or "the images' own URLs"

    def url(self, ref: ObjectRef) -> str:
        if self.base:
            return self.base + ref.key
        if not ref.url:
            raise FetchError(f"no URL for {ref.key}")
        return ref.url

    def listing(self, refs: Sequence[ObjectRef]) -> dict[str, int]:
        found: dict[str, int] = {}
        for ref in refs:
            for candidate in (ref, ref.md5()):
                size = http.head_size(self.url(candidate), timeout=self.timeout)
                if size is not None:
                    found[candidate.key] = size
                elif candidate is ref:
                    break  # no image, no need to ask for its checksum
        return found

    @contextmanager
    def open(self, ref: ObjectRef) -> Iterator[SizedSource]:
        url = self.url(ref)
        with http.request(url, timeout=self.timeout) as response:
            yield _HttpSource(response, f"GET {url}")

    def read_text(self, ref: ObjectRef) -> str:
        return http.get_text(self.url(ref), timeout=self.timeout, limit=SIDECAR_LIMIT, speed=self.speed)


def open_store(store_url: str, *, endpoint: str, bucket: str, timeout: float, attempts: int,
               speed: SpeedRule | None = None) -> Store:
    """The store named by `store_url` (dir, file://, s3://bucket, http(s)://base, `direct`),
    or upstream's default: the S3 bucket `bucket` at `endpoint`."""
    if not store_url:
        return S3Store(bucket, _endpoint_url(endpoint), timeout=timeout, attempts=attempts)
    if store_url == "direct":
        return HttpStore(None, timeout=timeout, speed=speed)
    parts = urlsplit(store_url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigError(f"store url {store_url!r}: no bucket (expected s3://<bucket>)")
        return S3Store(parts.netloc, _endpoint_url(endpoint), timeout=timeout, attempts=attempts)
    if parts.scheme in ("http", "https"):
        return HttpStore(store_url, timeout=timeout, speed=speed)
    if parts.scheme == "file":
        return LocalStore(Path(parts.path))
    if parts.scheme == "":
        return LocalStore(Path(store_url))
    raise ConfigError(f"store url {store_url!r}: unknown scheme {parts.scheme!r} "
                      "(use a directory, file://, s3://<bucket>, http(s):// or 'direct')")


def _endpoint_url(endpoint: str) -> str:
    """`metal-stack.io` -> `https://metal-stack.io`; full URLs stay as they are."""
    return endpoint if "://" in endpoint else f"https://{endpoint}"
