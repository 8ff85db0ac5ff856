"""The live rule: every panel query returns series from a real Prometheus.

Each query runs as Grafana would over the last 15 minutes (a range query), with every
variable in a `=~`/`!~` matcher standing for any value (`.*`), a variable elsewhere for
its current value, and `$__rate_interval` as Grafana computes it from the scrape interval
(max(step + scrape, 4 × scrape)). A query with no series is a panel that would be empty:
`file: panel "title": query returns no series`. A `label_values(selector, label)`
variable with no values is reported too: every panel that reads it would be empty.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.clients.prometheus import PrometheusClient, PrometheusError
from harness.dashboards.lint import LABEL_VALUES, Board, Finding
from harness.dashboards.queries import Unresolved, substitute

__all__ = ["RANGE_SECONDS", "Window", "empty_panels"]

RANGE_SECONDS = 15 * 60
STEP_SECONDS = 15.0


@dataclass(frozen=True)
class Window:
    """The range every query is evaluated over, and Grafana's time variables for it."""

    start: float
    end: float
    step: float
    rate_interval: float

    @classmethod
    def last(cls, scrape_seconds: float, seconds: float = RANGE_SECONDS) -> Window:
        end = time.time()
        rate = max(STEP_SECONDS + scrape_seconds, 4 * scrape_seconds)
        return cls(end - seconds, end, STEP_SECONDS, rate)

    @property
    def times(self) -> dict[str, str]:
        span = self.end - self.start
        return {
            "__rate_interval": f"{round(self.rate_interval * 1000)}ms",
            "__interval": f"{round(self.step * 1000)}ms",
            "__interval_ms": str(round(self.step * 1000)),
            "__range": f"{round(span)}s",
            "__range_s": str(round(span)),
            "__range_ms": str(round(span * 1000)),
            "__from": str(round(self.start * 1000)),
            "__to": str(round(self.end * 1000)),
        }


def empty_panels(boards: list[Board], client: PrometheusClient, window: Window) -> list[Finding]:
    return [f for board in boards for f in _board(board, client, window)]


def _board(board: Board, client: PrometheusClient, window: Window) -> Iterator[Finding]:
    def run(expr: str) -> str:
        """Why the query shows nothing, or "" when it returns series."""
        try:
            promql = substitute(expr, lambda _name: ".*", _current(board), window.times)
        except Unresolved as exc:
            return f"query cannot be evaluated: {exc}"
        try:
            series = client.query_range(promql, window.start, window.end, window.step)
        except PrometheusError as exc:
            return f"query fails: {exc}"
        return "" if series else "query returns no series"

    for variable in board.variables:
        found = LABEL_VALUES.match(str(variable.get("query") or ""))
        if variable.get("type") == "query" and found and found["selector"]:
            problem = run(f"count by ({found['label']}) ({found['selector']})")
            if problem:
                where = f'variable "{variable.get("name")}"'
                yield Finding(board.file, where, "live", problem.replace("query", "its query", 1))
    for panel in board.data_panels():
        targets = [t for t in panel.get("targets") or [] if str(t.get("expr") or "").strip()]
        for target in targets:
            if target.get("hide"):
                continue
            problem = run(target["expr"])
            if problem:
                suffix = f" ({target.get('refId', '?')})" if len(targets) > 1 else ""
                yield board.at(panel, "live", problem + suffix)


def _current(board: Board) -> Any:
    """A variable's current value, when it is one concrete value."""

    def value(name: str) -> str | None:
        variable = board.variable(name) or {}
        current = (variable.get("current") or {}).get("value")
        if isinstance(current, list):
            current = current[0] if len(current) == 1 else None
        if not current or str(current).startswith("$__all"):
            return None
        return str(current)

    return value
