"""Pure planning for publish and release: given what is where, which steps in which order.

No I/O here (the callers gather the state first), so every rule is table-tested:

- files go in publish order: the image first, the `.md5` last;
- when an existing, complete set is about to change, its `.md5` is removed first, so no
  reader ever pairs an old `.md5` with a new image (cache-sync needs the `.md5`);
- a dated release is never changed unless forced (adding missing files is not a change);
- artifact files left over from an older export are removed before the `.md5` returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from metal_images.artifact.registry import MD5, publish_order
from metal_images.errors import ConfigError
from metal_images.identity import ImageRef

FileState = Literal["absent", "same", "different"]
Op = Literal["retract", "upload", "copy", "skip", "delete"]


@dataclass(frozen=True)
class FileFacts:
    """Size and checksums of one file, wherever it is; None = not known."""

    size: int
    sha256: str | None = None
    md5: str | None = None


def compare(source: FileFacts, dest: FileFacts | None) -> FileState:
    """`same` only when size and a checksum both sides know agree."""
    if dest is None:
        return "absent"
    if source.size != dest.size:
        return "different"
    if source.sha256 and dest.sha256:
        return "same" if source.sha256 == dest.sha256 else "different"
    if source.md5 and dest.md5:
        return "same" if source.md5 == dest.md5 else "different"
    return "different"  # cannot prove equality: transfer again


@dataclass(frozen=True)
class Action:
    op: Op
    name: str
    key: str
    size: int = 0
    reason: str = ""


@dataclass(frozen=True)
class TransferPlan:
    """The steps that make `dest` hold `source`'s artifact set."""

    dest: ImageRef
    actions: tuple[Action, ...]
    source: str = ""  # a directory or a store path, for display

    @property
    def transfers(self) -> list[Action]:
        return [a for a in self.actions if a.op in ("upload", "copy")]

    @property
    def bytes(self) -> int:
        return sum(a.size for a in self.transfers)

    @property
    def changes(self) -> bool:
        return any(a.op != "skip" for a in self.actions)


def plan_transfer(
    dest: ImageRef,
    files: Mapping[str, int],
    states: Mapping[str, FileState],
    present: Sequence[str],
    *,
    op: Literal["upload", "copy"],
    force: bool,
    source: str = "",
) -> TransferPlan:
    """`files`: name -> size of the source set; `states`: name -> state at `dest`;
    `present`: artifact names that exist at `dest` (to find leftovers)."""
    order = publish_order()
    unknown = sorted(set(files) - set(order))
    if unknown:
        raise ConfigError(f"{source or dest.short}: not artifact files: {', '.join(unknown)}")
    if MD5 not in files:
        raise ConfigError(f"{source or dest.short}: the set has no {MD5}, it is incomplete")
    names = [n for n in order if n in files]
    stale = [n for n in order if n in present and n not in files]
    changed = [n for n in names if states.get(n, "absent") == "different"]
    if dest.channel.is_release and (changed or stale) and not force:
        what = ", ".join(changed + stale)
        raise ConfigError(
            f"{dest.prefix}: refusing to change the dated release ({what} differ); use --force to overwrite"
        )
    md5_present = MD5 in present
    body_changes = any(states.get(n, "absent") != "same" for n in names if n != MD5) or bool(stale)
    retract = md5_present and body_changes

    actions: list[Action] = []
    if retract:
        actions.append(
            Action("retract", MD5, dest.key(MD5), reason="the set changes: hide it until complete")
        )
    for name in names:
        if name == MD5:
            continue
        state = states.get(name, "absent")
        if state == "same":
            actions.append(Action("skip", name, dest.key(name), files[name], "unchanged"))
        else:
            actions.append(Action(op, name, dest.key(name), files[name], state))
    for name in stale:
        actions.append(Action("delete", name, dest.key(name), reason="not in the new set"))
    md5_state = states.get(MD5, "absent")
    if md5_state == "same" and not retract:
        actions.append(Action("skip", MD5, dest.key(MD5), files[MD5], "unchanged"))
    else:
        reason = "retracted above" if retract and md5_state == "same" else md5_state
        actions.append(Action(op, MD5, dest.key(MD5), files[MD5], f"{reason}; last: marks the set complete"))
    return TransferPlan(dest, tuple(actions), source)


def format_plan(plan: TransferPlan) -> list[str]:
    """Plan lines for --dry-run and for the log."""
    head = f"{plan.source} -> {plan.dest.prefix}" if plan.source else plan.dest.prefix
    lines = [head]
    for a in plan.actions:
        size = f"{a.size:>14,d} B" if a.op in ("upload", "copy", "skip") else " " * 16
        lines.append(f"  {a.op:<8} {a.name:<22} {size}  {a.reason}")
    return lines
