"""Settings from flags, environment and config file (flags win), validation, metal-api auth."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from metal_images.cachesync.config import CacheSyncConfig
from metal_images.cachesync.entities import load_entities_file, load_url_list
from metal_images.cachesync.metalapi import hmac_headers
from metal_images.cli import main
from metal_images.commands.cachesync import build_config, plan_command, run_command
from metal_images.errors import ConfigError


def resolve(args: list[str]) -> CacheSyncConfig:
    ctx = plan_command.make_context("plan", args)
    params: dict[str, Any] = dict(ctx.params)
    return build_config(params, needs_images=True)


def test_flag_beats_env_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"cache-root-path: {tmp_path}\nimage-list: {tmp_path}/images.yaml\n"
                      "max-cache-size: 1G\nmin-images-per-name: 5\nmax-images-per-name: 7\n"
                      "excludes: [/a/, /b/]\n")
    result = resolve(["--config", str(config)])
    assert (result.max_cache_size, result.min_images_per_name, result.max_images_per_name) == (1 << 30, 5, 7)
    assert result.excludes == ("/a/", "/b/")
    assert result.cache_root_path == tmp_path
    monkeypatch.setenv("METAL_IMAGE_CACHE_SYNC_MAX_CACHE_SIZE", "2G")
    monkeypatch.setenv("METAL_IMAGE_CACHE_SYNC_MIN_IMAGES_PER_NAME", "4")
    monkeypatch.setenv("METAL_IMAGE_CACHE_SYNC_EXCLUDES", "/c/ /d/")
    result = resolve(["--config", str(config)])
    assert (result.max_cache_size, result.min_images_per_name) == (2 << 30, 4)
    assert result.excludes == ("/c/", "/d/")
    assert result.max_images_per_name == 7  # still from the file
    result = resolve(["--config", str(config), "--min-images-per-name", "2", "--excludes", "/e/"])
    assert (result.min_images_per_name, result.excludes) == (2, ("/e/",))


def test_env_config_file_and_booleans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"cache_root_path: {tmp_path}\nmetal_api_endpoint: http://127.0.0.1:1\n")
    monkeypatch.setenv("METAL_IMAGE_CACHE_SYNC_CONFIG", str(config))
    monkeypatch.setenv("METAL_IMAGE_CACHE_SYNC_ENABLE_KERNEL_CACHE", "false")
    result = resolve([])
    assert result.metal_api_endpoint == "http://127.0.0.1:1"
    assert result.enable_kernel_cache is False
    assert result.enable_boot_image_cache is True


@pytest.mark.parametrize(("args", "message"), [
    (["--min-images-per-name", "0"], "--min-images-per-name must be at least 1, got 0"),
    (["--cache-root-path", "/nonexistent/cache"], "--cache-root-path /nonexistent/cache does not exist"),
    (["--cache-root-path", "/etc/hostname"], "--cache-root-path /etc/hostname is not a directory"),
    (["--schedule", "every ten minutes"], "--schedule 'every ten minutes' is not a cron expression"),
    (["--max-cache-size", "ten"], "--max-cache-size: cannot read 'ten' as a size"),
    (["--image-cache-bind-address", "localhost"],
     "--image-cache-bind-address: 'localhost' is not <host>:<port>"),
])
def test_validation_errors(tmp_path: Path, args: list[str], message: str) -> None:
    base = ["--cache-root-path", str(tmp_path), "--image-list", str(tmp_path / "i.yaml")]
    with pytest.raises(ConfigError) as err:
        build_config(dict(run_command.make_context("run", base + args).params), needs_images=True)
    assert message in err.value.message
    assert "\n" not in err.value.message


def test_missing_image_source_and_unknown_config_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no image list"):
        resolve(["--cache-root-path", str(tmp_path)])
    config = tmp_path / "c.yaml"
    config.write_text("max-cache-sise: 1G\n")
    with pytest.raises(ConfigError, match="unknown setting 'max-cache-sise'"):
        resolve(["--config", str(config)])


def test_cli_prints_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["cache-sync", "plan", "--cache-root-path", str(tmp_path / "nope"),
                                       "--image-list", "x.yaml"])
    assert result.exit_code == 2
    expected = f"error: --cache-root-path {tmp_path / 'nope'} does not exist"
    assert result.output.strip().splitlines() == [expected]


def test_image_list_file(tmp_path: Path) -> None:
    path = tmp_path / "images.yaml"
    path.write_text("images:\n- id: debian-12.0.20240101\n  url: http://h/metal-os/stable/debian/12/img.tar.lz4\n"
                    "  features: [machine]\n  classification: supported\n"
                    "  expirationDate: '2024-07-01T00:00:00Z'\n  description: ignored\n")
    [entity] = load_entities_file(path)
    assert entity.store_key == "metal-os/stable/debian/12/img.tar.lz4"
    assert entity.expiration_date == datetime(2024, 7, 1, tzinfo=UTC)
    path.write_text("- id: debian-12.0.20240101\n")
    with pytest.raises(ConfigError, match=r"image #0 url: Field required"):
        load_entities_file(path)


def test_hmac_headers_follow_metal_lib() -> None:
    now = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    headers = hmac_headers("secret", "GET", now, salt="abcdefghijklmnopqrstuvwx")
    assert headers["X-Date"] == "2024-01-02T03:04:05Z"
    signed = b"2024-01-02T03:04:05Z" + b"GET" + b"abcdefghijklmnopqrstuvwx"
    expected = hmac.new(b"secret", signed, hashlib.sha256).hexdigest()
    assert headers["Authorization"] == f"Metal-View {expected}"


def test_url_list_file(tmp_path: Path) -> None:
    path = tmp_path / "kernels.txt"
    path.write_text("# kernels of all partitions\nhttp://h/k/vmlinuz  # newest\n\nhttps://h/k/old\n")
    assert load_url_list(path) == ["http://h/k/vmlinuz", "https://h/k/old"]
    path.write_text("http://h/ok\nftp://h/k\n")
    with pytest.raises(ConfigError, match=r"kernels.txt:2: 'ftp://h/k' is not an http\(s\) URL"):
        load_url_list(path)
