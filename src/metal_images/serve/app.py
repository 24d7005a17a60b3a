"""The store over HTTP (aiohttp): files with Range/HEAD/ETag, directory listings, no escapes.

Files go through `files.file_response` (aiohttp's FileResponse), which does sendfile,
Range (206/416), HEAD, ETag/If-None-Match and Last-Modified/If-Modified-Since. A directory
answers with an HTML index, or JSON for `Accept: application/json` / `?format=json`; `/`, `/metal-os/` and
each channel's folder answer with the store page (store/page.py; `?index`: the plain index).
Hidden names (upload temp files) and anything resolving outside the root answer 404.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from metal_images.serve.files import file_response, resolve_inside
from metal_images.store.file_backend import FileBackend
from metal_images.store.page import page_for_path, store_page

TEXT_SUFFIXES = (".md5", ".sha256", ".sha512", ".txt")
ROOT_KEY = web.AppKey("root", Path)


def _resolve(root: Path, tail: str) -> Path | None:
    """The existing file or folder `tail` names inside `root`, or None if it is not allowed."""
    segments = [s for s in tail.split("/") if s]
    for segment in segments:
        if segment.startswith(".") or "\\" in segment or "\x00" in segment:
            return None  # `..`, `.`, hidden temp files
    return resolve_inside(root, segments)


def _wants_json(request: web.Request) -> bool:
    if request.query.get("format") == "json":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _listing(root: Path, folder: Path) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    for child in sorted(folder.iterdir(), key=lambda p: p.name):
        if child.name.startswith("."):
            continue
        try:
            st = child.stat()
        except OSError:
            continue  # vanished, or a dangling symlink
        is_dir = child.is_dir()
        entries.append(
            {
                "name": child.name + ("/" if is_dir else ""),
                "type": "directory" if is_dir else "file",
                "size": 0 if is_dir else st.st_size,
                "modified": dt.datetime.fromtimestamp(st.st_mtime, tz=dt.UTC).isoformat(timespec="seconds"),
            }
        )
    return entries


def _html(path: str, entries: list[dict[str, object]]) -> str:
    title = html.escape(path)
    rows = [] if path == "/" else ['<tr><td><a href="../">../</a></td><td></td><td></td></tr>']
    for e in entries:
        name = str(e["name"])
        size = "" if e["type"] == "directory" else f"{e['size']:,}"
        rows.append(
            f'<tr><td><a href="{quote(name)}">{html.escape(name)}</a></td>'
            f'<td align="right">{size}</td><td>{e["modified"]}</td></tr>'
        )
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head><body>"
        f"<h1>{title}</h1><table>{''.join(rows)}</table></body></html>\n"
    )


async def handle(request: web.Request) -> web.StreamResponse:
    root = request.app[ROOT_KEY]
    target = _resolve(root, request.match_info["tail"])
    if target is None:
        raise web.HTTPNotFound(text="404 not found\n")
    if target.is_dir():
        if not request.path.endswith("/"):
            raise web.HTTPMovedPermanently(request.path + "/")
        if not _wants_json(request) and "index" not in request.query:
            page = await store_page_response(root, request.path)
            if page is not None:
                return page
        entries = _listing(root, target)
        if _wants_json(request):
            body = json.dumps({"path": request.path, "entries": entries}, indent=1)
            return web.Response(text=body + "\n", content_type="application/json")
        return web.Response(text=_html(request.path, entries), content_type="text/html")
    headers = {"Content-Type": "text/plain; charset=utf-8"} if target.name.endswith(TEXT_SUFFIXES) else {}
    if not headers:
        headers["Content-Type"] = "application/octet-stream"
    return file_response(request, target, headers)


async def store_page_response(root: Path, path: str) -> web.Response | None:
    """The store page (store/page.py) for `/`, `/metal-os/` and `/metal-os/<channel>/` of the
    store at `root`; None for any other path. Rendered off the event loop (it reads files)."""
    is_page, channel = page_for_path(path)
    if not is_page:
        return None
    loop = asyncio.get_running_loop()
    text = await loop.run_in_executor(None, store_page, FileBackend(root), channel)
    return web.Response(text=text, content_type="text/html", charset="utf-8")


def make_app(root: Path) -> web.Application:
    app = web.Application()
    app[ROOT_KEY] = root.resolve()
    app.router.add_get("/{tail:.*}", handle)  # add_get also answers HEAD
    return app
