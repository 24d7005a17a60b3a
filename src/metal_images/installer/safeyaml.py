"""YAML from untrusted files (install.yaml, cloud-config userdata), loaded with limits.

PyYAML's composer recurses once per nesting level (a deep `[[[[...]]]]` ends in a
RecursionError) and shares aliased nodes, so a "billion laughs" document loads quickly but
explodes in everything that walks it afterwards. The event stream is scanned first,
without recursion: nesting depth and the node count after expanding aliases are bounded;
only then is the document loaded. Every failure is one InstallError line naming the file.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import yaml

from .errors import InstallError

MAX_DEPTH = 32
MAX_NODES = 100_000


def decode(data: bytes, what: str) -> str:
    """UTF-8 text or one error line with the offending byte's offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InstallError(f"{what} is not UTF-8 text (invalid byte at offset {exc.start})") from None


def _line(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f" (line {mark.line + 1})" if mark is not None else ""


def check_shape(text: str, what: str, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """Refuse documents nested deeper than max_depth or larger than max_nodes once aliases
    are expanded."""
    sizes: Dict[str, int] = {}
    # one frame per open collection: [node count so far, anchor]
    frames: List[List[Any]] = [[0, None]]
    total = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(frames) > max_depth:
                    raise InstallError(f"{what}: nested deeper than {max_depth} levels{_line(event)}")
                frames.append([1, event.anchor])
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                count, anchor = frames.pop()
                if anchor is not None:
                    sizes[anchor] = count
                frames[-1][0] += count
            elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
                count = 1 if isinstance(event, yaml.ScalarEvent) else sizes.get(event.anchor or "", 1)
                if isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                    sizes[event.anchor] = 1
                frames[-1][0] += count
                total = frames[0][0] + sum(f[0] for f in frames[1:])
                if total > max_nodes:
                    raise InstallError(
                        f"{what}: more than {max_nodes} values once YAML aliases are expanded{_line(event)}"
                    )
    except yaml.YAMLError as exc:
        raise InstallError(f"{what} is not valid YAML{_problem(exc)}") from None


def _problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1})" if mark is not None else ""
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unreadable"])[0]
    return f"{where}: {problem}"


def load(text: str, what: str) -> Optional[Any]:
    """check_shape(), then yaml.safe_load()."""
    check_shape(text, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InstallError(f"{what} is not valid YAML{_problem(exc)}") from None
    except RecursionError:  # check_shape bounds depth; belt and braces
        raise InstallError(f"{what}: nested too deeply") from None
