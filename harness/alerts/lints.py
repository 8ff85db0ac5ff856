"""Checks promtool does not make, each a small function over typed rules.

promtool accepts an alert with no severity, a `rate(x[15s])` over a 15 s scrape (one
sample: no rate at all) and two rules that write the same series; these catch them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from harness.alerts.rules import Rule, RuleFile
from harness.promqltree import parse_or_none, walk

__all__ = [
    "LINTS",
    "MIN_SCRAPES_PER_RANGE",
    "RATE_FUNCTIONS",
    "Finding",
    "duplicates",
    "metadata",
    "rate_ranges",
    "templates",
    "untested",
]

MIN_SCRAPES_PER_RANGE = 4
RATE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
_ACTION = re.compile(r"\{\{|\}\}")


@dataclass(frozen=True)
class Finding:
    """One problem: `file:line: rule NAME: message`; `check` names the lint (for JUnit)."""

    file: str
    line: int | None
    rule: str
    check: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return (
            f"{where}: rule {self.rule}: {self.message}"
            if self.rule
            else f"{where}: {self.message}"
        )


def _at(rule: Rule, check: str, message: str) -> Finding:
    return Finding(rule.file, rule.line, rule.name, check, message)


def metadata(rules: RuleFile) -> Iterator[Finding]:
    """Alerts say how bad (labels.severity), what (summary) and what to do (runbook_url).

    Generated files (Sloth's `sloth_severity`, no runbook) are held to `summary` only.
    """
    required = [("annotations", "summary")]
    if not rules.generated:
        required = [("labels", "severity"), *required, ("annotations", "runbook_url")]
    for rule in rules.rules:
        if rule.kind != "alert":
            continue
        for where, key in required:
            values = rule.labels if where == "labels" else rule.annotations
            if not values.get(key, "").strip():
                yield _at(rule, "metadata", f"alert has no {where}.{key}")


def templates(rules: RuleFile) -> Iterator[Finding]:
    """Every `{{` of a label or annotation closes with `}}` before the next opens."""
    for rule in rules.rules:
        for where, values in (("labels", rule.labels), ("annotations", rule.annotations)):
            for key, text in values.items():
                problem = _template_problem(text)
                if problem:
                    yield _at(rule, "templates", f"{where}.{key}: {problem}")


def _template_problem(text: str) -> str:
    open_ = False
    for mark in _ACTION.findall(text):
        if (mark == "{{") == open_:
            return f"unbalanced {mark!r} in template"
        open_ = not open_
    return "unclosed '{{' in template" if open_ else ""


def rate_ranges(rules: RuleFile, scrape_seconds: float) -> Iterator[Finding]:
    """rate/irate/increase need several samples: a range of at least 4 scrape intervals."""
    least = MIN_SCRAPES_PER_RANGE * scrape_seconds
    for rule in rules.rules:
        for func, seconds in _rate_ranges(rule.expr):
            if seconds < least:
                yield _at(
                    rule,
                    "rate-ranges",
                    f"{func}() over {_shown(seconds)} is under {MIN_SCRAPES_PER_RANGE}x "
                    f"the scrape interval ({_shown(scrape_seconds)}): use at least {_shown(least)}",
                )


def _rate_ranges(expr: str) -> Iterator[tuple[str, float]]:
    """(function, range in seconds) of every rate-like call; nothing if it does not parse."""
    tree = parse_or_none(expr)  # promtool reports the syntax
    for node in walk(tree) if tree is not None else ():
        args = list(getattr(node, "args", None) or [])
        func = getattr(getattr(node, "func", None), "name", "")
        if func in RATE_FUNCTIONS and args and hasattr(args[0], "range"):
            yield func, args[0].range.total_seconds()


def _shown(seconds: float) -> str:
    return f"{seconds:g}s" if seconds < 60 or seconds % 60 else f"{seconds / 60:g}m"


def duplicates(rules: RuleFile) -> Iterator[Finding]:
    """Two rules of a file writing the same series: same name, same labels, same kind."""
    seen: dict[tuple[str, str, frozenset[tuple[str, str]]], int] = {}
    for rule in rules.rules:
        key = (rule.kind, rule.name, frozenset(rule.labels.items()))
        if key in seen:
            yield _at(rule, "duplicates", f"same {rule.kind} name and labels as line {seen[key]}")
        else:
            seen[key] = rule.line


def untested(rules: RuleFile, tested: frozenset[str]) -> Iterator[Finding]:
    """An alert no promtool test names as `alertname`; generated files are exempt."""
    if rules.generated:
        return
    for rule in rules.rules:
        if rule.kind == "alert" and rule.name not in tested:
            yield _at(rule, "unit-tested", "no promtool unit test has alertname: " + rule.name)


LINTS = ("metadata", "templates", "rate-ranges", "duplicates", "unit-tested")
