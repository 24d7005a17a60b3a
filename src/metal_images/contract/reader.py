"""One streaming pass over an img.tar.lz4, from a local file or an HTTP(S) URL.

bytes (file or HTTP body) -> hashes of the compressed bytes -> LZ4 frame decoder ->
tar headers. Nothing is saved to disk and memory stays flat: only entry metadata and a
few small files are kept (see facts.py). The `.md5` (and `.sha256`/`.sha512`) sidecars
are fetched beside the image, as metal-hammer does.

A URL cannot hold the check forever: every read is counted against a SpeedRule (a
minimum speed and an overall deadline), a sidecar is read up to SIDECAR_LIMIT bytes, and
a broken LZ4 frame ends the download (the digests of a broken image are not computed).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import lz4.frame
import requests

from metal_images.contract.facts import UNIT_DIRS, ArchiveEntry, ArchiveFacts, normalize
from metal_images.contract.modinfo import DKMS_MODULE, scan_vermagic
from metal_images.errors import ConfigError, MetalImagesError
from metal_images.speed import SpeedGuard, SpeedRule, TooSlow

CHUNK = 1 << 20
SIDECARS = ("md5", "sha256", "sha512")
CAPTURED_FILES = frozenset({
    "etc/os-release", "usr/lib/os-release", "etc/passwd", "etc/group",
    # for the firewall-services rule
    "etc/nftables.conf", *(f"{directory}/chrony@.service" for directory in UNIT_DIRS),
})
# for the frr-state-dir rule: every tmpfiles.d file (small, and few)
CAPTURED_FOLDERS = ("etc/tmpfiles.d", "usr/lib/tmpfiles.d")
CAPTURE_LIMIT = 1 << 20
KERNEL_HEAD = 1024  # enough for the bzImage setup header (kexec_file_load needs a bzImage)
TIMEOUT = 60
SIDECAR_LIMIT = 64 << 10  # a checksum line is under 200 bytes
URL_RULE = SpeedRule(min_rate=64 << 10, window=30.0, deadline=3600.0)

_TYPES = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
    tarfile.CHRTYPE: "chr",
    tarfile.BLKTYPE: "blk",
    tarfile.FIFOTYPE: "fifo",
    tarfile.CONTTYPE: "contiguous",
    tarfile.GNUTYPE_SPARSE: "sparse",
}


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


class _HashingRaw(io.RawIOBase):
    """The compressed bytes as they arrive: counted and hashed on the way through."""

    def __init__(self, raw: Readable, algorithms: list[str], guard: SpeedGuard | None = None) -> None:
        self._raw = raw
        # one socket read at a time where offered (urllib3), so the guard sees a trickle
        self._read = getattr(raw, "read1", raw.read)
        self._guard = guard
        self.hashes = {name: hashlib.new(name) for name in algorithms}
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._read(len(buffer))
        if self._guard is not None:
            self._guard.count(len(data))
        if not data:
            return 0
        n = len(data)
        buffer[:n] = data
        for h in self.hashes.values():
            h.update(data)
        self.size += n
        return n

    def drain(self) -> None:
        buf = bytearray(CHUNK)
        while self.readinto(buf):
            pass


class _Lz4Failure(Exception):
    pass


class _GuardedLz4:
    """The decompressed tar stream; LZ4 errors are recorded so the tar layer is not blamed."""

    def __init__(self, compressed: Readable) -> None:
        self._file = lz4.frame.LZ4FrameFile(compressed, mode="rb")
        self.error: str | None = None
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self._file.read(size)
        except (RuntimeError, EOFError, OSError, ValueError) as exc:
            self.error = _lz4_message(exc)
            raise _Lz4Failure(self.error) from exc
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def close(self) -> None:
        self._file.close()


def _lz4_message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, EOFError):
        return f"truncated: {text}"
    return text


def _entry_type(info: tarfile.TarInfo) -> str:
    return _TYPES.get(info.type, f"unknown({info.type.decode(errors='replace')!r})")


class _SpyTarInfo(tarfile.TarInfo):
    """Python's tarfile applies PAX global headers silently; metal-hammer's archiver v2
    refuses them ("unknown type flag"), so count them on the way through."""

    def _proc_member(self, tarfile_obj: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
        if self.type == tarfile.XGLTYPE:
            tarfile_obj.metal_global_headers = getattr(tarfile_obj, "metal_global_headers", 0) + 1  # type: ignore[attr-defined]
        return super()._proc_member(tarfile_obj)  # type: ignore[misc,no-any-return]


def _wants_content(name: str) -> int:
    if name in CAPTURED_FILES or name.rpartition("/")[0] in CAPTURED_FOLDERS:
        return CAPTURE_LIMIT
    if name.startswith("boot/vmlinuz-"):
        return KERNEL_HEAD
    return 0


def read_tar(stream: Readable, facts: ArchiveFacts) -> None:
    """Collect entry metadata and the few contents the rules need, in archive order."""
    with tarfile.open(fileobj=stream, mode="r|", tarinfo=_SpyTarInfo, bufsize=CHUNK) as tar:  # type: ignore[call-overload]
        for index, info in enumerate(tar):
            name = normalize(info.name)
            entry = ArchiveEntry(index=index, raw_name=info.name, name=name, type=_entry_type(info),
                                 mode=info.mode, size=info.size, linkname=info.linkname,
                                 uid=info.uid, gid=info.gid)
            facts.add(entry)
            module = DKMS_MODULE.fullmatch(name)
            if module and entry.type == "file":
                member = tar.extractfile(info)
                if member is not None:
                    facts.module_vermagic[name] = scan_vermagic(member, module["z"])
                continue
            limit = _wants_content(name)
            if limit and entry.type == "file":
                member = tar.extractfile(info)
                if member is not None:
                    facts.contents[name] = member.read(limit)
        facts.global_headers = getattr(tar, "metal_global_headers", 0)


@contextmanager
def _open_local(path: Path) -> Iterator[Readable]:
    try:
        handle = open(path, "rb", buffering=0)  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot open: {exc.strerror}") from exc
    with handle:
        yield handle


@contextmanager
def _open_url(url: str) -> Iterator[Readable]:
    try:
        response = requests.get(url, stream=True, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise MetalImagesError(f"GET {url}: {exc}") from exc
    with response:
        if response.status_code >= 400:
            raise MetalImagesError(f"GET {url}: HTTP {response.status_code} {response.reason}")
        response.raw.decode_content = True
        yield response.raw


def _get_sidecar(url: str, rule: SpeedRule) -> str | None:
    """The text at `url`, None on 404; at most SIDECAR_LIMIT bytes, read under `rule`."""
    guard = SpeedGuard(rule, f"GET {url}")
    with requests.get(url, timeout=TIMEOUT, stream=True) as response:
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise MetalImagesError(f"GET {url}: HTTP {response.status_code}")
        data = bytearray()
        while len(data) <= SIDECAR_LIMIT:
            chunk = response.raw.read1(SIDECAR_LIMIT + 1 - len(data))
            guard.count(len(chunk))
            if not chunk:
                break
            data += chunk
    if len(data) > SIDECAR_LIMIT:
        raise MetalImagesError(f"GET {url}: larger than {SIDECAR_LIMIT} bytes, not a checksum sidecar")
    return data.decode("utf-8", errors="replace")


def fetch_sidecars(source: str, rule: SpeedRule = URL_RULE) -> tuple[dict[str, str | None], dict[str, str]]:
    """The `<image>.md5`/`.sha256`/`.sha512` texts next to the image (None where absent)."""
    texts: dict[str, str | None] = {}
    errors: dict[str, str] = {}
    for algorithm in SIDECARS:
        where = f"{source}.{algorithm}"
        texts[algorithm] = None
        if is_url(source):
            try:
                texts[algorithm] = _get_sidecar(where, rule)
            except (requests.RequestException, TooSlow, MetalImagesError) as exc:
                errors[algorithm] = str(exc) if isinstance(exc, MetalImagesError) else f"GET {where}: {exc}"
        elif Path(where).is_file():
            with open(where, "rb") as handle:
                data = handle.read(SIDECAR_LIMIT + 1)
            if len(data) > SIDECAR_LIMIT:
                errors[algorithm] = f"{where}: larger than {SIDECAR_LIMIT} bytes, not a checksum sidecar"
            else:
                texts[algorithm] = data.decode("utf-8", errors="replace")
    return texts, errors


def collect_facts(source: str, *, role: str | None = None, rule: SpeedRule = URL_RULE) -> ArchiveFacts:
    """Read `source` (path or http(s) URL) once and return what the rules need; a URL is
    read under `rule` (TooSlow when it trickles or passes its deadline)."""
    facts = ArchiveFacts(source=source, role=role)
    facts.sidecars, facts.sidecar_errors = fetch_sidecars(source, rule)
    algorithms = [a for a in SIDECARS if facts.sidecars.get(a) is not None] or ["md5"]
    remote = is_url(source)
    opener = _open_url(source) if remote else _open_local(Path(source))
    with opener as raw_stream:
        raw = _HashingRaw(raw_stream, algorithms, SpeedGuard(rule, f"GET {source}") if remote else None)
        buffered = io.BufferedReader(raw, buffer_size=CHUNK)
        decoded = _GuardedLz4(buffered)
        try:
            read_tar(decoded, facts)
            decoded.drain()  # the rest of the frame: padding, end mark, content checksum
        except _Lz4Failure:
            pass
        except (tarfile.TarError, EOFError, ValueError, UnicodeError) as exc:
            if decoded.error is None:
                facts.tar_error = str(exc) or type(exc).__name__
        facts.lz4_error = decoded.error
        if facts.tar_error is not None and facts.lz4_error is None:
            # the tar layer gave up early: still check the whole LZ4 frame
            try:
                decoded.drain()
            except _Lz4Failure:
                facts.lz4_error = decoded.error
        facts.tar_size = decoded.size
        if remote and facts.lz4_error is not None:
            facts.compressed_size = raw.size
            return facts  # a broken frame ends the download: the rest is not worth the wait
        raw.drain()  # digests cover the whole file, even when a layer failed
        facts.compressed_size = raw.size
        facts.digests = {name: h.hexdigest() for name, h in raw.hashes.items()}
    return facts
