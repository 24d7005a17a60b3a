"""Run the rules on an archive and show the verdict: a table for people, JSON for tools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from metal_images.contract.facts import ArchiveFacts
from metal_images.contract.reader import URL_RULE, collect_facts
from metal_images.contract.rules import Rule, Status, evaluate
from metal_images.speed import SpeedRule

STYLE = {"pass": "green", "fail": "red", "warn": "yellow", "skip": "dim"}


@dataclass(frozen=True)
class Result:
    rule: Rule
    status: Status
    reason: str


@dataclass(frozen=True)
class Report:
    facts: ArchiveFacts
    results: list[Result]

    def ok(self, *, strict: bool = False) -> bool:
        bad: tuple[Status, ...] = ("fail", "warn", "skip") if strict else ("fail",)
        return not any(r.status in bad for r in self.results)

    def counts(self) -> dict[str, int]:
        counts = {"pass": 0, "fail": 0, "warn": 0, "skip": 0}
        for r in self.results:
            counts[r.status] += 1
        return counts

    def as_dict(self, *, strict: bool = False) -> dict[str, Any]:
        return {
            "source": self.facts.source,
            "ok": self.ok(strict=strict),
            "summary": self.counts(),
            "archive": {
                "compressed_bytes": self.facts.compressed_size,
                "tar_bytes": self.facts.tar_size,
                "entries": len(self.facts.entries),
                "digests": self.facts.digests,
            },
            "results": [
                {"id": r.rule.id, "description": r.rule.description, "severity": r.rule.severity,
                 "status": r.status, "reason": r.reason}
                for r in self.results
            ],
        }

    def render(self, console: Console) -> None:
        table = Table("RULE", "STATUS", "CHECKS / REASON", title=Text(self.facts.source),
                      title_justify="left")
        for r in self.results:
            text = Text(r.rule.description)
            if r.reason:
                text.append("\n" + r.reason, style=STYLE[r.status])
            table.add_row(Text(r.rule.id), Text(r.status, style=STYLE[r.status]), text)
        console.print(table)
        c = self.counts()
        console.print(f"{c['pass']} passed, {c['fail']} failed, {c['warn']} warnings, {c['skip']} skipped "
                      f"({len(self.facts.entries)} entries, {self.facts.compressed_size / 1e6:.1f} MB)")


def check_archive(source: str, *, role: str | None = None, rule: SpeedRule = URL_RULE) -> Report:
    facts = collect_facts(source, role=role, rule=rule)
    return Report(facts, [Result(rule, status, reason) for rule, status, reason in evaluate(facts)])
