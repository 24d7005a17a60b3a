"""The three readings of a checksum sidecar, and the one way it is written."""

from __future__ import annotations

import pytest

from metal_images.errors import ConfigError
from metal_images.sidecar import first_token, hammer_reading, read_digest, sidecar_problem, sidecar_text

MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def test_written_sidecars_pass_every_reading() -> None:
    text = sidecar_text(MD5, "img.tar.lz4")
    assert text == f"{MD5}  img.tar.lz4\n"
    checked = read_digest(text, "md5", what="x", file_name="img.tar.lz4")
    assert hammer_reading(text) == first_token(text) == checked == MD5
    assert sidecar_problem(text, "md5", MD5) is None


def test_the_readings_differ_where_metal_hammer_is_strict() -> None:
    upper = f"{MD5.upper()}\n"  # no space: metal-hammer compares the whole text
    assert hammer_reading(upper) == upper
    assert first_token(upper) == MD5
    assert read_digest(upper, "md5", what="x") == MD5
    assert sidecar_problem(upper, "md5", MD5) is not None


@pytest.mark.parametrize(("text", "message"), [
    ("", "not in checksum format"),
    (f"{MD5[:-1]}  img.tar.lz4", "not an md5 sum"),
    (f"{MD5}\n", "not in checksum format"),  # a file name is required here
    (f"{MD5}  img.tar.lz4 extra", "not in checksum format"),
    (f"{MD5}  ../other.tar", "names '../other.tar'"),
])
def test_read_digest_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_digest(text, "md5", what="dir/img.tar.lz4.md5", file_name="img.tar.lz4")


def test_read_digest_takes_the_algorithms_length() -> None:
    with pytest.raises(ConfigError, match="not a sha256 sum"):
        read_digest(f"{MD5}  img.tar.lz4", "sha256", what="x")
    assert read_digest(f"{'a' * 64} *img.tar.lz4", "sha256", what="x", file_name="img.tar.lz4") == "a" * 64
