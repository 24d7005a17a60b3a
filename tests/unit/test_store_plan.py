"""Publish/release planning (pure): order, retraction of the .md5, dated-release protection."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from metal_images.artifact.registry import IMAGE, MD5, PACKAGES, SBOM, SHA256, SHA512
from metal_images.errors import ConfigError
from metal_images.identity import ImageRef
from metal_images.store.plan import FileFacts, FileState, compare, plan_transfer

SET = {IMAGE: 1000, SHA256: 78, SHA512: 142, PACKAGES: 500, MD5: 46}
STABLE = ImageRef.parse_path("stable/debian/12")
DATED = ImageRef.parse_path("20261125/debian/12")


def ops(
    dest: object,
    states: Mapping[str, FileState],
    present: list[str],
    *,
    force: bool = False,
    files: Mapping[str, int] = SET,
) -> list[tuple[str, str]]:
    plan = plan_transfer(dest, files, states, present, op="upload", force=force)  # type: ignore[arg-type]
    return [(a.op, a.name) for a in plan.actions]


def uploads(*names: str) -> list[tuple[str, str]]:
    return [("upload", name) for name in names]


# what a publish killed after the image and its .sha256 left behind
HALF_PUBLISHED: dict[str, FileState] = {
    **dict.fromkeys(SET, "absent"),
    IMAGE: "same",
    SHA256: "same",
}


def test_fresh_publish_goes_image_first_md5_last() -> None:
    assert ops(STABLE, {}, []) == uploads(IMAGE, SHA256, SHA512, PACKAGES, MD5)


def test_republish_of_the_same_set_skips_everything() -> None:
    same: dict[str, FileState] = dict.fromkeys(SET, "same")
    plan = plan_transfer(STABLE, SET, same, list(SET), op="upload", force=False)
    assert not plan.changes and plan.bytes == 0


def test_changed_image_retracts_the_old_md5_first() -> None:
    states: dict[str, FileState] = {**dict.fromkeys(SET, "different"), PACKAGES: "same"}
    assert ops(STABLE, states, list(SET)) == [
        ("retract", MD5),
        *uploads(IMAGE, SHA256, SHA512),
        ("skip", PACKAGES),
        ("upload", MD5),
    ]


def test_md5_is_rewritten_after_a_retraction_even_when_equal() -> None:
    states: dict[str, FileState] = dict.fromkeys(SET, "same")
    states[PACKAGES] = "different"
    result = ops(STABLE, states, list(SET))
    assert result[0] == ("retract", MD5) and result[-1] == ("upload", MD5)


@pytest.mark.parametrize("dest", [STABLE, DATED], ids=["stable", "dated release"])
def test_rerun_after_a_kill_before_the_md5_only_completes(dest: object) -> None:
    """A dated release may be completed too: nothing in it changes, files are only added."""
    assert ops(dest, HALF_PUBLISHED, [IMAGE, SHA256]) == [
        ("skip", IMAGE),
        ("skip", SHA256),
        *uploads(SHA512, PACKAGES, MD5),
    ]


def test_leftover_artifacts_are_deleted_before_the_md5_returns() -> None:
    states: dict[str, FileState] = dict.fromkeys(SET, "same")
    result = ops(STABLE, states, [*SET, SBOM])
    assert result[0] == ("retract", MD5)
    assert result.index(("delete", SBOM)) < result.index(("upload", MD5)) == len(result) - 1


def test_a_dated_release_is_not_overwritten() -> None:
    states: dict[str, FileState] = dict.fromkeys(SET, "same")
    states[IMAGE] = "different"
    with pytest.raises(ConfigError, match=r"refusing to change the dated release.*--force"):
        ops(DATED, states, list(SET))
    assert ops(DATED, states, list(SET), force=True)[:2] == [("retract", MD5), ("upload", IMAGE)]


def test_a_set_without_md5_or_with_strangers_is_refused() -> None:
    with pytest.raises(ConfigError, match="incomplete"):
        ops(STABLE, {}, [], files={IMAGE: 1})
    with pytest.raises(ConfigError, match=r"not artifact files: evil\.sh"):
        ops(STABLE, {}, [], files={**SET, "evil.sh": 1})


@pytest.mark.parametrize(
    ("source", "dest", "state"),
    [
        (FileFacts(10, "a", "m"), None, "absent"),
        (FileFacts(10, "a", "m"), FileFacts(10, "a", None), "same"),
        (FileFacts(10, "a", "m"), FileFacts(10, "b", "m"), "different"),  # sha256 wins over md5
        (FileFacts(10, "a", "m"), FileFacts(10, None, "m"), "same"),
        (FileFacts(10, "a", "m"), FileFacts(11, "a", "m"), "different"),
        (FileFacts(10, "a", "m"), FileFacts(10, None, None), "different"),  # cannot prove: transfer
    ],
)
def test_compare(source: FileFacts, dest: FileFacts | None, state: str) -> None:
    assert compare(source, dest) == state
