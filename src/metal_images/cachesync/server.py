"""The caches over HTTP (aiohttp): files with Range support, `/health`, `/metrics`, and a
307 to `https://<Host><path>` on a miss so the client gets the file from the real store.
The image cache answers `/` and `/metal-os/<channel>/` with the store page of what it holds.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from metal_images.cachesync.config import BindAddress
from metal_images.cachesync.metrics import CacheMetrics
from metal_images.serve.app import store_page_response
from metal_images.serve.files import file_response, resolve_inside

MISS_BODY = "307 redirect due to cache miss"
_METRICS_KEY = web.AppKey("metrics", CacheMetrics)


def _cached_file(root: Path, url_path: str) -> Path | None:
    """The file for a request path, if it is a regular file inside the cache root."""
    segments = [s for s in url_path.split("/") if s]
    if not segments:
        return None
    candidate = resolve_inside(root.resolve(), segments)
    return candidate if candidate is not None and candidate.is_file() else None


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="HEALTHY")


async def _metrics(request: web.Request) -> web.Response:
    metrics = request.app[_METRICS_KEY]
    metrics.refresh()
    response = web.Response(body=generate_latest(metrics.registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def _file(request: web.Request) -> web.StreamResponse:
    metrics = request.app[_METRICS_KEY]
    if metrics.kind == "images":
        page = await store_page_response(metrics.root, request.path)  # what the cache holds, for people
        if page is not None:
            return page
    path = _cached_file(metrics.root, request.path)
    if path is None:
        metrics.misses.inc()
        host = request.headers.get("Host") or request.host
        raise web.HTTPTemporaryRedirect(f"https://{host}{request.path_qs}", text=MISS_BODY)
    return file_response(request, path, chunk_size=1 << 20)


async def _count_download(request: web.Request, response: web.StreamResponse) -> None:
    if isinstance(response, web.FileResponse) and response.status == 200 and request.method == "GET":
        request.app[_METRICS_KEY].downloads.inc()


def make_app(metrics: CacheMetrics) -> web.Application:
    app = web.Application()
    app[_METRICS_KEY] = metrics
    app.router.add_get("/health", _health)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/{tail:.*}", _file)
    app.on_response_prepare.append(_count_download)
    return app


async def start_server(metrics: CacheMetrics, bind: BindAddress) -> web.AppRunner:
    """Start serving one cache; the caller must `await runner.cleanup()`."""
    runner = web.AppRunner(make_app(metrics), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, bind.host, bind.port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
