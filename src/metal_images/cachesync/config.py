"""The settings of cache-sync, validated once with one clear error line per problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from croniter import croniter

from metal_images.cachesync.planner import SelectionRules
from metal_images.cachesync.retry import RetryPolicy
from metal_images.errors import ConfigError
from metal_images.speed import SpeedRule

ENV_PREFIX = "METAL_IMAGE_CACHE_SYNC_"
DEFAULT_CACHE_ROOT = Path("/var/lib/metal-image-cache-sync")
CONFIG_LOCATIONS = (
    Path("/etc/metal-image-cache-sync/config.yaml"),
    Path.home() / ".metal-image-cache-sync" / "config.yaml",
    Path("config.yaml"),
)


@dataclass(frozen=True)
class BindAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_bind_address(text: str, *, flag: str) -> BindAddress:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--{flag}: {text!r} is not <host>:<port> (example: 0.0.0.0:3000)")
    return BindAddress(host.strip("[]") or "0.0.0.0", int(port))


@dataclass(frozen=True)
class CacheSyncConfig:
    cache_root_path: Path = DEFAULT_CACHE_ROOT
    image_store: str = "metal-stack.io"
    image_store_bucket: str = "images"
    store_url: str = ""
    metal_api_endpoint: str = ""
    metal_api_hmac: str = ""
    metal_api_token: str = ""
    image_list: Path | None = None
    kernel_urls_file: Path | None = None
    boot_image_urls_file: Path | None = None
    schedule: str = "*/10 * * * *"
    dry_run: bool = False
    max_cache_size: int = 10 << 30
    min_images_per_name: int = 3
    max_images_per_name: int = -1
    expiration_grace_period: int = 0
    excludes: tuple[str, ...] = ("/pull_requests/",)
    image_cache_bind_address: str = "0.0.0.0:3000"
    enable_kernel_cache: bool = True
    kernel_cache_bind_address: str = "0.0.0.0:3001"
    enable_boot_image_cache: bool = True
    boot_image_cache_bind_address: str = "0.0.0.0:3002"
    retries: int = 4
    retry_delay: float = 1.0
    timeout: float = 30.0
    min_speed: int = 64 << 10  # bytes/s averaged over --timeout seconds; 0: no minimum

    @property
    def rules(self) -> SelectionRules:
        return SelectionRules(
            excludes=self.excludes,
            grace_days=self.expiration_grace_period,
            min_per_name=self.min_images_per_name,
            max_per_name=self.max_images_per_name,
            max_cache_size=self.max_cache_size,
        )

    @property
    def speed_rule(self) -> SpeedRule | None:
        """Downloads slower than --min-speed over a --timeout window are cut off and retried."""
        return SpeedRule(min_rate=self.min_speed, window=self.timeout) if self.min_speed else None

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(attempts=self.retries, min_delay=self.retry_delay,
                           max_delay=max(self.retry_delay, 30.0))

    def validate(self, *, needs_images: bool) -> CacheSyncConfig:
        """Raise ConfigError naming the first bad setting; returns self for chaining."""
        if self.min_images_per_name < 1:
            raise ConfigError(f"--min-images-per-name must be at least 1, got {self.min_images_per_name}")
        if self.expiration_grace_period < 0:
            raise ConfigError(f"--expiration-grace-period must be >= 0 days, "
                              f"got {self.expiration_grace_period}")
        if self.max_cache_size < 0:
            raise ConfigError("--max-cache-size must not be negative")
        if not self.cache_root_path.exists():
            raise ConfigError(f"--cache-root-path {self.cache_root_path} does not exist")
        if not self.cache_root_path.is_dir():
            raise ConfigError(f"--cache-root-path {self.cache_root_path} is not a directory")
        if not croniter.is_valid(self.schedule):
            raise ConfigError(f"--schedule {self.schedule!r} is not a cron expression "
                              "(example: '*/10 * * * *')")
        if self.retries < 1:
            raise ConfigError(f"--retries must be at least 1, got {self.retries}")
        if self.timeout <= 0 or self.retry_delay < 0:
            raise ConfigError("--timeout must be > 0 and --retry-delay >= 0")
        if self.min_speed < 0:
            raise ConfigError("--min-speed must not be negative")
        for flag, value in (("image-cache-bind-address", self.image_cache_bind_address),
                            ("kernel-cache-bind-address", self.kernel_cache_bind_address),
                            ("boot-image-cache-bind-address", self.boot_image_cache_bind_address)):
            parse_bind_address(value, flag=flag)
        if needs_images and not (self.metal_api_endpoint or self.image_list):
            raise ConfigError("no image list: set --metal-api-endpoint or --image-list")
        if self.metal_api_hmac and self.metal_api_token:
            raise ConfigError("--metal-api-hmac and --metal-api-token exclude each other")
        return self
