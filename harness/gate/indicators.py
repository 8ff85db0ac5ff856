"""Indicators read from Prometheus over a range: each a value (or None: no data) with the
PromQL and the evaluation time that produced it, so every verdict line can cite them.

SLO indicators use the SLO's own error and total queries with `{{.window}}` set to the
window in whole seconds, evaluated at the range's end: over the range itself (`sli`,
`error_ratio`, `requests`), over the period (`budget_remaining`), over a given window
(`burn_rate`), or over the page alert's window pairs (`page_burn`: 1 or more means the
page condition holds). Windows that a stack scales (its demo windows) are scaled alike.
A Prometheus that cannot answer raises PrometheusError: an error, never a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.clients.prometheus import PrometheusClient
from harness.gate.spec import RANGE, Objective
from harness.slo.budget import error_ratio, number
from harness.slo.spec import Slo
from harness.slo.windows import PERIODS, burn_windows

__all__ = ["Reading", "Scope", "ratio_over", "read"]


@dataclass(frozen=True)
class Scope:
    """Where and over what an objective is read."""

    prom: PrometheusClient
    start: float
    end: float
    window_scale: float = 1.0
    period: str = "30d"

    @property
    def seconds(self) -> float:
        return max(1.0, self.end - self.start)

    def shifted(self, seconds: float) -> Scope:
        return Scope(
            self.prom, self.start - seconds, self.end - seconds, self.window_scale, self.period
        )


@dataclass(frozen=True)
class Reading:
    value: float | None
    query: str
    at: float
    requests: float | None = None  # the SLO's requests in the range, for the traffic guard
    detail: str = ""


def read(objective: Objective, slo: Slo | None, scope: Scope) -> Reading:
    if objective.indicator == "query":
        assert objective.query is not None
        query = RANGE.sub(f"{round(scope.seconds)}s", objective.query)
        return Reading(number(scope.prom, query, scope.end), query, scope.end)
    assert slo is not None
    ratio, query, requests = ratio_over(slo, scope, scope.seconds)
    budget = 1 - slo.objective / 100
    match objective.indicator:
        case "sli":
            value = None if ratio is None else 1 - ratio
            return Reading(value, f"1 - ({query})", scope.end, requests)
        case "error_ratio":
            return Reading(ratio, query, scope.end, requests)
        case "requests":
            return Reading(requests, query, scope.end, requests)
        case "budget_remaining":
            period = PERIODS[scope.period] * scope.window_scale
            spent, q, _n = ratio_over(slo, scope, period)
            value = None if spent is None else 1 - spent / budget
            text = f"1 - ({q}) / {budget:g}"
            return Reading(value, text, scope.end, requests, f"over the {_span(period)} period")
        case "burn_rate":
            assert objective.window is not None
            window = objective.window * scope.window_scale
            r, q, _n = ratio_over(slo, scope, window)
            value = None if r is None else r / budget
            return Reading(value, f"({q}) / {budget:g}", scope.end, requests)
        case "page_burn":
            return _page_burn(slo, scope, budget, requests)
    raise AssertionError(objective.indicator)


def _page_burn(slo: Slo, scope: Scope, budget: float, requests: float | None) -> Reading:
    """max over the page alert's two window pairs of min(burn short, burn long) / factor."""
    worst: float | None = None
    parts: list[str] = []
    for pair in burn_windows("page"):
        factor = pair.factor(PERIODS[scope.period])
        burns = []
        for seconds in (pair.short, pair.long):
            r, q, _n = ratio_over(slo, scope, seconds * scope.window_scale)
            burns.append(None if r is None else r / budget)
            parts.append(q)
        if None in burns:
            continue
        level = min(b for b in burns if b is not None) / factor
        worst = level if worst is None else max(worst, level)
    detail = "1 or more: the page alert's condition holds at the range's end"
    return Reading(worst, " ; ".join(parts), scope.end, requests, detail)


def ratio_over(slo: Slo, scope: Scope, seconds: float) -> tuple[float | None, str, float | None]:
    """(error ratio, the query as cited, requests) over `seconds` ending at the range's end."""
    ratio = error_ratio(slo, scope.prom, seconds, scope.end)
    return ratio.value, ratio.query, ratio.requests


def _span(seconds: float) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"{seconds / 86400:g}d"
    return f"{seconds / 3600:.3g}h"
