"""An aiohttp application on a free loopback port, served from a background thread for the
length of a `with` block (the hammer emulation's download server; tests' servers).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from metal_images.errors import MetalImagesError

START_TIMEOUT = 10


@contextmanager
def serving(app: web.Application, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on `host` (a free port); yields the base URL `http://host:port`.

    The server and its thread are stopped on every exit of the block.
    """
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    ready = threading.Event()
    port: list[int] = []
    errors: list[BaseException] = []

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, host, 0).start()
        port.append(int(runner.addresses[0][1]))

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:
            errors.append(exc)
            ready.set()
            loop.run_until_complete(runner.cleanup())
            loop.close()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=main, name="http-server", daemon=True)
    thread.start()
    if not ready.wait(START_TIMEOUT):
        raise MetalImagesError(f"the HTTP server on {host} did not start within {START_TIMEOUT}s")
    if errors:
        thread.join(START_TIMEOUT)
        raise errors[0]
    try:
        yield f"http://{host}:{port[0]}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT)
