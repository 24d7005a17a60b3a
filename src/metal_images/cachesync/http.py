"""Plain HTTP(S) GET and HEAD with the standard library: streamed, no buffering copies.

`http.client` lets the downloader `readinto` its own buffers straight from the socket,
which keeps a verified download close to curl's speed with constant memory.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

from metal_images.cachesync.retry import FetchError, TransientError
from metal_images.speed import SpeedGuard, SpeedRule, TooSlow

_REDIRECTS = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 5

# errors that a second attempt may not see
TRANSIENT_OS_ERRORS: tuple[type[BaseException], ...] = (
    TimeoutError, socket.timeout, ConnectionError, http.client.IncompleteRead,
    http.client.RemoteDisconnected, http.client.BadStatusLine,
)


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.netloc, timeout=timeout,
                                           context=ssl.create_default_context()), target
    return http.client.HTTPConnection(parts.netloc, timeout=timeout), target


@contextmanager
def request(url: str, method: str = "GET", *, timeout: float = 30.0,
            headers: Mapping[str, str] | None = None) -> Iterator[http.client.HTTPResponse]:
    """An open response with status 2xx (redirects followed); errors become Fetch/TransientError."""
    for _ in range(MAX_REDIRECTS + 1):
        conn, target = _connection(url, timeout)
        try:
            try:
                conn.request(method, target, headers=dict(headers or {}))
                response = conn.getresponse()
            except TRANSIENT_OS_ERRORS as exc:
                raise TransientError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
            except OSError as exc:
                raise TransientError(f"{method} {url}: {exc.strerror or exc}") from exc
            status = response.status
            if status in _REDIRECTS and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location", ""))
                continue
            if status >= 500 or status == 429:
                raise TransientError(f"{method} {url}: HTTP {status} {response.reason}")
            if status >= 300:
                raise FetchError(f"{method} {url}: HTTP {status} {response.reason}")
            yield response
            return
        finally:
            conn.close()
    raise FetchError(f"{method} {url}: more than {MAX_REDIRECTS} redirects")


def head_size(url: str, *, timeout: float = 30.0, headers: Mapping[str, str] | None = None) -> int | None:
    """Content-Length of `url`, or None when it is not there (404, 403, ...)."""
    try:
        with request(url, "HEAD", timeout=timeout, headers=headers) as response:
            length = response.getheader("Content-Length")
            return int(length) if length and length.isdigit() else 0
    except TransientError:
        raise
    except FetchError:
        return None


def get_text(url: str, *, timeout: float = 30.0, headers: Mapping[str, str] | None = None,
             limit: int = 64 << 20, speed: SpeedRule | None = None) -> str:
    """The body of `url` as text: at most `limit` bytes, read as they arrive (so `speed`
    can stop a trickle before the limit is reached)."""
    guard = SpeedGuard(speed, f"GET {url}") if speed is not None else None
    data = bytearray()
    with request(url, timeout=timeout, headers=headers) as response:
        try:
            while len(data) <= limit:
                chunk = response.read1(min(1 << 16, limit + 1 - len(data)))
                if guard is not None:
                    guard.count(len(chunk))
                if not chunk:
                    break
                data += chunk
        except TRANSIENT_OS_ERRORS as exc:
            raise TransientError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
        except TooSlow as exc:
            raise TransientError(exc.message) from exc
    if len(data) > limit:
        raise FetchError(f"GET {url}: answer larger than {limit} bytes")
    return data.decode("utf-8", errors="replace")
