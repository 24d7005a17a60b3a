"""Run the store server until interrupted; print where it listens (port 0 = any free port)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from metal_images.errors import ConfigError
from metal_images.serve.app import make_app


def parse_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not host or int(port) > 65535:
        raise ConfigError(f"--bind '{bind}': expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]"), int(port)


async def _serve(root: Path, host: str, port: int, access_log: bool, ready: Callable[[str], None]) -> None:
    runner = web.AppRunner(
        make_app(root), access_log=logging.getLogger("aiohttp.access") if access_log else None
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"--bind {host}:{port}: cannot listen: {exc.strerror}") from exc
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        real_port = sockets[0].getsockname()[1] if sockets else port
        shown = f"[{host}]" if ":" in host else host
        ready(f"http://{shown}:{real_port}/")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def serve_directory(root: Path, bind: str, *, access_log: bool, ready: Callable[[str], None]) -> None:
    host, port = parse_bind(bind)
    if not root.is_dir():
        raise ConfigError(f"serve: {root} is not a directory")
    if access_log:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    asyncio.run(_serve(root, host, port, access_log, ready))
