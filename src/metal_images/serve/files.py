"""What both file servers (`serve` and cache-sync's caches) share: finding a file by its
request path without leaving the root, and answering Range requests correctly.

aiohttp's FileResponse does sendfile, Range, HEAD and the conditional headers, with two
gaps closed here: an `If-Range` that carries an entity tag is compared with the file's
ETag (aiohttp only reads dates there and would send a part of a changed file), and the
suffix range `bytes=-0` is unsatisfiable (416, RFC 9110 14.1.3) instead of a 206.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web_request import BaseRequest
from multidict import CIMultiDict

NAME_MAX = 255  # bytes per path segment on Linux file systems; longer cannot exist
_ZERO_SUFFIX = re.compile(r"bytes=\s*-\s*0+\s*")


def resolve_inside(root: Path, segments: Sequence[str]) -> Path | None:
    """`root/segments` with symlinks resolved, or None when it cannot name a file inside
    `root` (a segment too long to exist, a symlink loop, a link out of the root)."""
    if any(len(os.fsencode(s)) > NAME_MAX for s in segments):
        return None
    try:
        target = root.joinpath(*segments).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, ELOOP/ENAMETOOLONG; 3.11 raises RuntimeError on loops
        return None
    if target != root and root not in target.parents:
        return None
    return target


def file_etag(st: os.stat_result) -> str:
    """The strong ETag aiohttp's FileResponse sends for a file with this stat."""
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


class _WholeFile(web.FileResponse):
    """The file as a 200: the request's If-Range named another version, so its Range is void."""

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        headers = CIMultiDict(request.headers)
        headers.popall(hdrs.RANGE, None)
        headers.popall(hdrs.IF_RANGE, None)
        return await super().prepare(request.clone(headers=headers))


def file_response(request: web.Request, path: Path, headers: Mapping[str, str] | None = None,
                  *, chunk_size: int = 256 * 1024) -> web.StreamResponse:
    """Serve `path` (an existing regular file) for `request`, Range and If-Range done right."""
    wanted = request.headers.get(hdrs.RANGE)
    if wanted is None:
        return web.FileResponse(path, chunk_size=chunk_size, headers=headers)
    try:
        st = path.stat()
    except OSError as exc:
        raise web.HTTPNotFound(text="404 not found\n") from exc
    if _ZERO_SUFFIX.fullmatch(wanted.strip()):
        raise web.HTTPRequestRangeNotSatisfiable(headers={hdrs.CONTENT_RANGE: f"bytes */{st.st_size}"})
    validator = request.headers.get(hdrs.IF_RANGE, "").strip()
    # an entity tag must match strongly; a date is left to aiohttp
    if validator.startswith(('"', "W/")) and validator != file_etag(st):
        return _WholeFile(path, chunk_size=chunk_size, headers=headers)
    return web.FileResponse(path, chunk_size=chunk_size, headers=headers)
