"""Real servers on 127.0.0.1 for the tests and the benchmark (not used by the tool itself).

`serve_in_thread(app)` runs an aiohttp application on a free loopback port in a
background thread and tears it down on exit. `StoreServer` is a store over HTTP whose
misbehaviour can be dialled in: fail the first N requests with 500, stall past the
client's timeout, send bytes slowly, or corrupt them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from metal_images.serve.thread import serving

serve_in_thread = serving  # the shipped one: tests serve their apps as the hammer serves images


ENDLESS_LIMIT = 256 << 20


@dataclass
class StoreServer:
    """Serves files of `root` by path; knobs make it fail like a real store sometimes does."""

    root: Path
    fail_first: int = 0            # answer 500 to the first N GET/HEAD requests
    stall_first: int = 0           # then stall the next N requests for `stall_seconds`
    stall_seconds: float = 5.0
    bytes_per_second: int = 0      # 0: as fast as possible
    corrupt: set[str] = field(default_factory=set)  # keys whose bytes get flipped
    cut: dict[str, int] = field(default_factory=dict)  # key -> bytes sent before the connection drops
    endless: set[str] = field(default_factory=set)  # keys answered with a body that never ends
    requests: list[tuple[float, str, str, int]] = field(default_factory=list)  # (time, method, path, status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{key:.*}", self._handle)
        return app

    @property
    def failures(self) -> int:
        return sum(1 for r in self.requests if r[3] >= 500)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        index = len(self.requests)
        if index < self.fail_first:
            self.requests.append((time.monotonic(), request.method, key, 500))
            return web.Response(status=500, text="store broken")
        if index < self.fail_first + self.stall_first:
            self.requests.append((time.monotonic(), request.method, key, 599))
            await asyncio.sleep(self.stall_seconds)
            return web.Response(status=503, text="too late")
        if key in self.endless:
            self.requests.append((time.monotonic(), request.method, key, 200))
            return await self._endless(request)
        path = self.root / key
        if not path.is_file():
            self.requests.append((time.monotonic(), request.method, key, 404))
            return web.Response(status=404)
        self.requests.append((time.monotonic(), request.method, key, 200))
        if key in self.cut and request.method == "GET":
            return await self._cut_off(request, path, self.cut[key])
        if not self.bytes_per_second and key not in self.corrupt:
            return web.FileResponse(path)
        size = path.stat().st_size
        response = web.StreamResponse(headers={"Content-Length": str(size)})
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        chunk = max(1, min(1 << 20, self.bytes_per_second // 10)) if self.bytes_per_second else 1 << 20
        with path.open("rb") as handle:
            while data := handle.read(chunk):
                if key in self.corrupt:
                    data = bytes(b ^ 0xFF for b in data[:16]) + data[16:]
                await response.write(data)
                if self.bytes_per_second:
                    await asyncio.sleep(len(data) / self.bytes_per_second)
        await response.write_eof()
        return response


    async def _endless(self, request: web.Request) -> web.StreamResponse:
        """Zeros without a length, until the client leaves (or ENDLESS_LIMIT, so it ends by itself)."""
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"0" * (max(1, self.bytes_per_second // 10) if self.bytes_per_second else 1 << 16)
        sent = 0
        try:
            while sent < ENDLESS_LIMIT:
                await response.write(chunk)
                sent += len(chunk)
                await asyncio.sleep(len(chunk) / self.bytes_per_second if self.bytes_per_second else 0)
        except (ConnectionError, RuntimeError):
            pass  # the client gave up, as it should
        return response

    async def _cut_off(self, request: web.Request, path: Path, sent: int) -> web.StreamResponse:
        """Announce the whole file, send `sent` bytes, then drop the connection."""
        response = web.StreamResponse(headers={"Content-Length": str(path.stat().st_size)})
        await response.prepare(request)
        await response.write(path.read_bytes()[:sent])
        if request.transport is not None:
            request.transport.close()
        return response


SEEN_HEADERS = web.AppKey("seen_headers", list[dict[str, str]])


def metal_api_app(images: list[dict[str, object]], partitions: list[dict[str, object]] | None = None,
                  *, required_auth: str | None = None) -> web.Application:
    """A tiny metal-api: `/v1/image` and `/v1/partition` as JSON; optional auth scheme check."""
    app = web.Application()
    seen: list[dict[str, str]] = []
    app[SEEN_HEADERS] = seen

    def guarded(payload: object) -> web.Response:
        return web.json_response(payload)

    async def image(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        if required_auth and not request.headers.get("Authorization", "").startswith(required_auth):
            return web.Response(status=401, text="unauthorized")
        return guarded(images)

    async def partition(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return guarded(partitions or [])

    app.router.add_get("/v1/image", image)
    app.router.add_get("/v1/partition", partition)
    return app
