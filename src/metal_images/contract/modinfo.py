"""The `vermagic` of an out-of-tree kernel module, read from the archive stream.

DKMS installs what it builds under `lib/modules/<kernel>/updates/`; a module only loads
into the kernel its vermagic names, so a kernel bump without a rebuild shows here. The
string sits in the module's `.modinfo` section (`vermagic=<release> SMP ...\\0`), which
a streaming scan finds without parsing ELF; xz- and gzip-compressed modules are
decompressed on the way.
"""

from __future__ import annotations

import lzma
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Protocol

# (usr/)lib/modules/<kernel>/updates/...<name>.ko[.xz|.gz|.zst]
DKMS_MODULE = re.compile(
    r"(?:usr/)?lib/modules/(?P<kernel>[^/]+)/updates/(?:.+/)?(?P<name>[^/]+)\.ko(?:\.(?P<z>xz|gz|zst))?"
)
_MARK = b"vermagic="
_CHUNK = 1 << 20
_LONGEST = 256  # a vermagic string is far shorter; bounds the carry-over between chunks


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _chunks(stream: Readable, compression: str | None) -> Iterator[bytes]:
    decompress: Callable[[bytes], bytes] | None = None
    if compression == "xz":
        decompress = lzma.LZMADecompressor().decompress
    elif compression == "gz":
        decompress = zlib.decompressobj(wbits=31).decompress
    while chunk := stream.read(_CHUNK):
        yield decompress(chunk) if decompress else chunk


def scan_vermagic(stream: Readable, compression: str | None) -> str:
    """The module's vermagic, or a text in angle brackets saying why it could not be read."""
    if compression == "zst":
        return "<zstd-compressed: not read>"
    carry = b""
    try:
        for chunk in _chunks(stream, compression):
            data = carry + chunk
            at = data.find(_MARK)
            if at >= 0:
                end = data.find(b"\0", at)
                if end >= 0:
                    return data[at + len(_MARK):end].decode("ascii", errors="replace")
                carry = data[at:]
                continue
            carry = data[-(len(_MARK) + _LONGEST):]
    except (lzma.LZMAError, zlib.error) as exc:
        return f"<cannot decompress: {exc}>"
    return "<no vermagic>"
