"""PromQL probes: a query, a comparison, a threshold — and never a pass on no data.

Every result cites the query, the value, the threshold and the time. An empty
result, NaN, or an unreachable Prometheus is not a pass: it is "no data" or "error",
and the query is named (Argo Rollouts and Flagger both learnt this the hard way).
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from harness.clients.prometheus import PrometheusClient, PrometheusError
from harness.specs.experiment import Probe

__all__ = ["OPS", "ProbeResult", "evaluate"]

# "pending": a guardrail's fault has not yet produced its first evidence (client probes
# only, for at most one window); it neither passes nor breaches
Status = Literal["pass", "fail", "no data", "error", "pending"]

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class ProbeResult:
    name: str
    query: str
    op: str
    threshold: float
    value: float | None
    time: float
    status: Status
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    def summary(self) -> str:
        value = "no data" if self.value is None else f"{self.value:.4g}"
        text = f"{self.name}: {value} {self.op} {self.threshold:g} -> {self.status}"
        return f"{text} ({self.detail})" if self.detail else text

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(probe: Probe, prom: PrometheusClient, at: float | None = None) -> ProbeResult:
    """Run the probe's query; every returned series must satisfy the comparison."""
    now = at if at is not None else time.time()

    def result(value: float | None, status: Status, detail: str = "") -> ProbeResult:
        return ProbeResult(
            probe.name, probe.query.strip(), probe.op, probe.threshold, value, now, status, detail
        )

    try:
        samples = prom.query(probe.query, at=at)
    except PrometheusError as exc:
        return result(None, "error", str(exc))
    values = [s.value for s in samples if not math.isnan(s.value)]
    if not values:
        return result(
            None, "no data", "the query returned no series" if not samples else "every value is NaN"
        )
    compare = OPS[probe.op]
    failing = [v for v in values if not compare(v, probe.threshold)]
    worst = failing[0] if failing else _worst(values, probe.op)
    detail = f"{len(failing)} of {len(values)} series fail" if failing and len(values) > 1 else ""
    return result(worst, "fail" if failing else "pass", detail)


def _worst(values: list[float], op: str) -> float:
    """The value closest to breaking the threshold, to report for a passing probe."""
    return min(values) if op in (">", ">=") else max(values)
