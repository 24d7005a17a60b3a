"""The metal-api, read only: the v1 image list and the partitions' boot configuration.

Authentication like metal-lib: a `Metal-View` HMAC (`--metal-api-hmac`) or a bearer token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
from datetime import UTC, datetime
from typing import Any

from metal_images.cachesync import http
from metal_images.cachesync.entities import ImageEntity, parse_entities
from metal_images.cachesync.retry import FetchError, RetryPolicy, with_retries
from metal_images.speed import SpeedRule


def hmac_headers(key: str, method: str, now: datetime, salt: str | None = None) -> dict[str, str]:
    """metal-lib's HMAC auth: hex(hmac-sha256(key, RFC3339 time + method + salt))."""
    salt = salt or "".join(secrets.choice(string.ascii_letters) for _ in range(24))
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    mac = hmac.new(key.encode(), (stamp + method + salt).encode(), hashlib.sha256).hexdigest()
    return {"X-Date": stamp, "X-Data-Salt": salt, "Authorization": f"Metal-View {mac}"}


class MetalApi:
    def __init__(self, endpoint: str, *, hmac_key: str = "", token: str = "",
                 timeout: float = 30.0, policy: RetryPolicy | None = None,
                 speed: SpeedRule | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.speed = speed  # a trickling metal-api must not hold the round either
        self.hmac_key = hmac_key
        self.token = token
        self.timeout = timeout
        self.policy = policy or RetryPolicy()

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.hmac_key:
            headers.update(hmac_headers(self.hmac_key, "GET", datetime.now(UTC)))
        elif self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _get_json(self, path: str) -> Any:
        url = f"{self.endpoint}{path}"

        def fetch() -> str:
            return http.get_text(url, timeout=self.timeout, headers=self._headers(), speed=self.speed)

        text = with_retries(f"metal-api GET {url}", fetch, self.policy)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise FetchError(f"metal-api GET {url}: answer is not JSON: {exc}") from exc

    def images(self) -> list[ImageEntity]:
        return parse_entities(self._get_json("/v1/image"), source=f"metal-api {self.endpoint}/v1/image")

    def boot_urls(self) -> tuple[list[str], list[str]]:
        """(kernel URLs, boot image URLs) of all partitions' bootconfig."""
        data = self._get_json("/v1/partition")
        if not isinstance(data, list):
            raise FetchError(f"metal-api {self.endpoint}/v1/partition: expected a list")
        kernels: list[str] = []
        boot_images: list[str] = []
        for partition in data:
            bootconfig = (partition.get("bootconfig") if isinstance(partition, dict) else None) or {}
            if bootconfig.get("kernelurl"):
                kernels.append(str(bootconfig["kernelurl"]))
            if bootconfig.get("imageurl"):
                boot_images.append(str(bootconfig["imageurl"]))
        return kernels, boot_images
