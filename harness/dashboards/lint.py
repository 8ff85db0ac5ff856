"""The rules of grafana's dashboard-linter, offline: each a small function over a board.

- template-datasource: a `datasource` variable of type datasource, for Prometheus;
- panel-datasource: every panel and query reads `$datasource` (never a fixed uid);
- panel-title: every panel, rows included, has a title;
- panel-units: every panel that draws values has a unit Grafana knows;
- panel-targets: every such panel has at least one query;
- target-promql: every query (and every `label_values` variable) parses as PromQL, with
  Grafana's variables replaced by placeholders;
- target-rate-interval: rate() and irate() run over `$__rate_interval`, never a fixed range;
- template-job-instance: a query that matches on `job` or `instance` does it with a
  `$job`/`$instance` variable the dashboard defines (a multi-select query variable).

Findings print as `file: panel "title": message`, `file: variable "name": message` or
`file: message`. `harness.dashboards.live` adds the live rule (no panel is empty).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.dashboards.queries import (
    RATE_INTERVAL,
    PromQLError,
    matchers,
    parse,
    rate_ranges,
    with_placeholders,
)
from harness.errors import InvalidInput, Issue

__all__ = ["RULES", "Board", "Finding", "lint", "load_boards"]

DATASOURCE_UIDS = frozenset({"$datasource", "${datasource}"})
# panels that draw no query results: they need neither unit, datasource nor queries
NO_DATA_PANELS = frozenset({"row", "text", "news", "dashlist", "annolist", "welcome"})
LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<selector>.*),)?\s*(?P<label>[\w.]+)\s*\)\s*$")
# misc, throughput, time, data, data rate, percent, boolean (Grafana's unit ids)
_UNIT_IDS = (
    "none short string percent percentunit sci locale hex hex0x "
    "cps ops reqps rps wps iops cpm opm rpm wpm "
    "ns µs ms s m h d dtdurationms dtdurations dthms dtdhms timeticks clockms clocks hertz "
    "bits decbits bytes decbytes kbytes deckbytes mbytes decmbytes gbytes decgbytes "
    "pps bps Bps binbps binBps KiBs Kibits KBs Kbits MiBs Mibits MBs Mbits GiBs Gibits GBs Gbits "
    "bool bool_yes_no bool_on_off dateTimeAsIso dateTimeAsSystem dateTimeFromNow"
)
UNITS = frozenset(_UNIT_IDS.split())


@dataclass(frozen=True)
class Finding:
    file: str
    where: str  # 'panel "title"', 'variable "name"' or "" for the dashboard
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{self.file}: {where}{self.message}"


@dataclass(frozen=True)
class Board:
    """One dashboard file: its name for findings and its JSON."""

    file: str
    data: dict[str, Any]

    @property
    def variables(self) -> list[dict[str, Any]]:
        return list((self.data.get("templating") or {}).get("list") or [])

    def variable(self, name: str) -> dict[str, Any] | None:
        return next((v for v in self.variables if v.get("name") == name), None)

    def panels(self) -> Iterator[dict[str, Any]]:
        """Every panel, rows and the panels folded into collapsed rows included."""
        todo = list(reversed(self.data.get("panels") or []))
        while todo:
            panel = todo.pop()
            yield panel
            todo.extend(reversed(panel.get("panels") or []))

    def data_panels(self) -> Iterator[dict[str, Any]]:
        return (p for p in self.panels() if p.get("type") not in NO_DATA_PANELS)

    def at(self, panel: dict[str, Any], rule: str, message: str) -> Finding:
        return Finding(self.file, f'panel "{panel.get("title") or "?"}"', rule, message)

    def queries(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(panel, target) of every PromQL target with an expression."""
        for panel in self.data_panels():
            for target in panel.get("targets") or []:
                if str(target.get("expr") or "").strip():
                    yield panel, target


def template_datasource(board: Board) -> Iterator[Finding]:
    found = [v for v in board.variables if v.get("type") == "datasource"]
    if not found:
        yield Finding(
            board.file,
            "",
            "template-datasource",
            "no templated datasource: add a "
            "`datasource` variable of type datasource (query: prometheus)",
        )
    for v in found:
        if v.get("name") != "datasource" or v.get("query") != "prometheus":
            yield Finding(
                board.file,
                f'variable "{v.get("name")}"',
                "template-datasource",
                "the datasource variable should be named `datasource`, for prometheus",
            )


def _uid(ref: Any) -> str:
    return str(ref.get("uid") or "") if isinstance(ref, dict) else str(ref or "")


def panel_datasource(board: Board) -> Iterator[Finding]:
    for panel in board.data_panels():
        uid = _uid(panel.get("datasource"))
        if uid not in DATASOURCE_UIDS:
            yield board.at(
                panel, "panel-datasource", f"datasource is {uid or 'not set'!r}, not $datasource"
            )
        for target in panel.get("targets") or []:
            tuid = _uid(target.get("datasource"))
            if tuid and tuid not in DATASOURCE_UIDS:
                yield board.at(
                    panel,
                    "panel-datasource",
                    f"query {target.get('refId', '?')} reads {tuid!r}, not $datasource",
                )


def panel_title(board: Board) -> Iterator[Finding]:
    for panel in board.panels():
        if not str(panel.get("title") or "").strip():
            kind = panel.get("type", "panel")
            yield Finding(board.file, f"{kind} #{panel.get('id', '?')}", "panel-title", "no title")


def panel_units(board: Board) -> Iterator[Finding]:
    for panel in board.data_panels():
        config = panel.get("fieldConfig") or {}
        unit = (config.get("defaults") or {}).get("unit")
        if not unit:
            yield board.at(panel, "panel-units", "no unit (fieldConfig.defaults.unit)")
        elif unit not in UNITS and not str(unit).startswith(("currency", "suffix:", "prefix:")):
            yield board.at(panel, "panel-units", f"unknown unit {unit!r}")


def panel_targets(board: Board) -> Iterator[Finding]:
    for panel in board.data_panels():
        if not any(str(t.get("expr") or "").strip() for t in panel.get("targets") or []):
            yield board.at(panel, "panel-targets", "no query")


def target_promql(board: Board) -> Iterator[Finding]:
    for panel, target in board.queries():
        try:
            parse(target["expr"])
        except PromQLError as exc:
            yield board.at(
                panel, "target-promql", f"query {target.get('refId', '?')} does not parse: {exc}"
            )
    for variable in board.variables:
        problem = _variable_problem(variable)
        if problem:
            yield Finding(
                board.file, f'variable "{variable.get("name")}"', "target-promql", problem
            )


def _variable_problem(variable: dict[str, Any]) -> str:
    if variable.get("type") != "query":
        return ""
    text = variable.get("query")
    text = text.get("query", "") if isinstance(text, dict) else str(text or "")
    found = LABEL_VALUES.match(text)
    if found is None:
        return "" if text.strip() else "no query"
    if not found["selector"]:
        return ""
    try:
        parse(found["selector"])
    except PromQLError as exc:
        return f"label_values selector does not parse: {exc}"
    return ""


def target_rate_interval(board: Board) -> Iterator[Finding]:
    for panel, target in board.queries():
        try:
            ranges = list(rate_ranges(parse(target["expr"])))
        except PromQLError:
            continue  # target-promql's finding
        for func, window in ranges:
            if window != RATE_INTERVAL:
                yield board.at(
                    panel,
                    "target-rate-interval",
                    f"query {target.get('refId', '?')}: {func}() over a fixed range: "
                    "use [$__rate_interval]",
                )


def template_job_instance(board: Board) -> Iterator[Finding]:
    for panel, target in board.queries():
        try:
            found = list(matchers(parse(target["expr"])))
        except PromQLError:
            continue
        for label in sorted({name for name, _, _ in found} & {"job", "instance"}):
            values = [v for name, _, v in found if name == label]
            problem = _template_problem(board, label, values)
            if problem:
                yield board.at(
                    panel, "template-job-instance", f"query {target.get('refId', '?')}: {problem}"
                )


def _template_problem(board: Board, label: str, values: list[str]) -> str:
    variable = board.variable(label)
    if variable is None:
        return f"matches on {label} but the dashboard has no ${label} variable"
    if variable.get("type") != "query" or _uid(variable.get("datasource")) not in DATASOURCE_UIDS:
        return f"${label} should be a query variable on $datasource"
    if not variable.get("multi"):
        return f"${label} should be a multi-select variable"
    if any(f"var_{label}" not in with_placeholders(v) for v in values):
        return f'matches {label} without ${label} (use {label}=~"${label}")'
    return ""


Rule = Callable[[Board], Iterable[Finding]]
RULES: tuple[Rule, ...] = (
    template_datasource,
    panel_datasource,
    panel_title,
    panel_units,
    panel_targets,
    target_promql,
    target_rate_interval,
    template_job_instance,
)


def lint(boards: Iterable[Board]) -> list[Finding]:
    return [finding for board in boards for rule in RULES for finding in rule(board)]


def load_boards(paths: Iterable[Path]) -> list[Board]:
    """Every `*.json` dashboard of the paths (files, or folders read one level deep);
    InvalidInput names each file that is missing, not JSON, or not a dashboard."""
    files: list[Path] = []
    issues: list[Issue] = []
    for path in paths:
        if path.is_dir():
            files += sorted(path.glob("*.json"))
        elif path.is_file():
            files.append(path)
        else:
            issues.append(Issue(str(path), None, "", "no such file or folder"))
    boards = []
    for file in files:
        try:
            data = json.loads(file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            issues.append(Issue(str(file), None, "", f"not a JSON file: {exc}"))
            continue
        data = data.get("dashboard", data) if isinstance(data, dict) else data
        if not isinstance(data, dict) or not isinstance(data.get("panels", []), list):
            issues.append(Issue(str(file), None, "", "not a Grafana dashboard (no panels list)"))
            continue
        boards.append(Board(str(file), data))
    if issues:
        raise InvalidInput(issues)
    return boards
