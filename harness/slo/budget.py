"""How much of each SLO's error budget a stretch of time burnt.

Over a range of D seconds the SLI's error ratio e (the SLO's own error and total
queries with `{{.window}}` = D, evaluated at the range's end) burns at e / (1 - objective)
times the sustainable rate; the share of the period's budget gone is that burn rate
times D / period. No request in the range is "no data", never "nothing burnt".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from harness.clients.prometheus import PrometheusClient, PrometheusError
from harness.slo.spec import WINDOW, Slo, SloFile

__all__ = ["BudgetBurn", "Ratio", "budget_burnt", "error_ratio", "number", "sli_queries"]


@dataclass(frozen=True)
class BudgetBurn:
    """One SLO over one range; `burnt` is a fraction of the period's budget (0.05 = 5%)."""

    service: str
    slo: str
    objective: float  # percent
    period_seconds: float
    range_seconds: float
    at: float
    error_query: str
    total_query: str
    requests: float | None = None  # events in the range (rate x seconds)
    error_ratio: float | None = None
    burn_rate: float | None = None
    burnt: float | None = None
    problem: str = ""  # why there is no figure: no data, Prometheus error

    def summary(self) -> str:
        name = f"{self.service}/{self.slo}"
        if self.burnt is None:
            return f"{name}: {self.problem}"
        return (
            f"{name}: {self.burnt:.2%} of the {_span(self.period_seconds)} budget burnt in "
            f"{_span(self.range_seconds)} (error ratio {self.error_ratio:.4g}, burn rate "
            f"{self.burn_rate:.3g}x, {self.requests:.0f} requests)"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sli_queries(slo: Slo, seconds: float) -> tuple[str, str]:
    """The SLO's error and total queries over a window of `seconds` (whole seconds)."""
    window = f"{max(1, round(seconds))}s"
    events = slo.sli.events
    return WINDOW.sub(window, events.error_query), WINDOW.sub(window, events.total_query)


def budget_burnt(
    spec: SloFile, prom: PrometheusClient, start: float, end: float, period_seconds: float
) -> list[BudgetBurn]:
    """Every SLO of the file over [start, end]."""
    seconds = max(1.0, end - start)
    return [_one(spec.service, slo, prom, seconds, end, period_seconds) for slo in spec.slos]


def _one(
    service: str, slo: Slo, prom: PrometheusClient, seconds: float, end: float, period: float
) -> BudgetBurn:
    errors_q, total_q = sli_queries(slo, seconds)
    base = BudgetBurn(service, slo.name, slo.objective, period, seconds, end, errors_q, total_q)
    try:
        ratio = error_ratio(slo, prom, seconds, end)
    except PrometheusError as exc:
        return _with(base, problem=f"Prometheus error: {exc}")
    if ratio.value is None:
        return _with(base, problem="no data: no request in the range")
    rate = ratio.value / (1 - slo.objective / 100)
    return _with(
        base,
        requests=ratio.requests,
        error_ratio=ratio.value,
        burn_rate=rate,
        burnt=rate * seconds / period,
    )


@dataclass(frozen=True)
class Ratio:
    """An SLO's error ratio over a window ending at some time, with the queries it came
    from; `value` None: no request in the window (no data, never "no error")."""

    value: float | None
    errors_query: str
    total_query: str
    requests: float | None  # events in the window (rate x seconds); None: no series at all

    @property
    def query(self) -> str:
        return f"({self.errors_query}) / ({self.total_query})"


def error_ratio(slo: Slo, prom: PrometheusClient, seconds: float, at: float) -> Ratio:
    """The SLO's own error and total queries over `seconds`, evaluated at `at`.

    A Prometheus that cannot answer raises PrometheusError."""
    errors_q, total_q = sli_queries(slo, seconds)
    total = number(prom, total_q, at)
    if total is None or total <= 0:
        return Ratio(None, errors_q, total_q, None if total is None else 0.0)
    errors = number(prom, errors_q, at) or 0.0
    value = min(1.0, max(0.0, errors / total))
    return Ratio(value, errors_q, total_q, round(total * seconds, 1))


def number(prom: PrometheusClient, query: str, at: float) -> float | None:
    """The sum of the series the query returns; None when it returns none (or only NaN)."""
    values = [s.value for s in prom.query(query, at=at) if not math.isnan(s.value)]
    return sum(values) if values else None


def _with(base: BudgetBurn, **changes: Any) -> BudgetBurn:
    return BudgetBurn(**{**asdict(base), **changes})


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds:.0f}s"
