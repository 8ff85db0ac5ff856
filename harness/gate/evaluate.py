"""The gate's verdict from its objectives' readings: pass, warn, fail or inconclusive.

In order: too little traffic in the range (every SLO's requests under
`min_requests`) is inconclusive, with the count; more objectives without data than
`max_no_data_share` is inconclusive; a key objective failing fails; an objective whose
no-data policy is `inconclusive` and that has no data makes the gate inconclusive —
no data is never a pass; otherwise the score (pass = its weight, warn = half,
fail = none, over the weights scored) against the pass and warn scores. A relative
criterion with no baseline value has no data.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from harness.gate.indicators import Reading, Scope, ratio_over, read
from harness.gate.spec import Criterion, GateFile, Objective, relative_bound
from harness.slo.spec import Slo, SloFile

__all__ = ["Baseline", "CriterionResult", "GateResult", "ObjectiveResult", "evaluate"]

Status = Literal["pass", "warn", "fail", "inconclusive", "ignored"]
Verdict = Literal["pass", "warn", "fail", "inconclusive"]
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_NO_DATA: dict[str, Status] = {"inconclusive": "inconclusive", "fail": "fail", "ignore": "ignored"}

# the baseline: a value per objective name (a previous result), or a scope to read again
Baseline = Mapping[str, float | None] | Scope | None


@dataclass(frozen=True)
class CriterionResult:
    kind: Literal["pass", "warn"]
    criterion: str  # as written
    threshold: float | None  # what it compared with (None: no baseline)
    ok: bool | None  # None: could not be judged

    def text(self) -> str:
        """`pass >= objective (0.999): ok`: the number shown when the text is not one."""
        shown = self.criterion.split(" ", 1)[-1]
        number = self.threshold is not None and not _is_number(shown)
        bound = f" ({self.threshold:.6g})" if number else ""
        mark = {True: "ok", False: "missed", None: "no data"}[self.ok]
        return f"{self.kind} {self.criterion}{bound}: {mark}"


@dataclass
class ObjectiveResult:
    name: str
    indicator: str
    slo: str | None
    status: Status
    value: float | None
    query: str
    at: float
    weight: float
    key: bool
    criteria: list[CriterionResult] = field(default_factory=list)
    baseline: float | None = None
    detail: str = ""

    def line(self) -> str:
        """One line citing the value, the thresholds, the query and the time."""
        value = "no data" if self.value is None else f"{self.value:.6g}"
        tests = "; ".join(c.text() for c in self.criteria)
        extra = f" — {self.detail}" if self.detail else ""
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at))
        return (
            f"{self.name}: {self.status}: value {value} at {at}; {tests}{extra}; "
            f"query: {self.query}"
        )


@dataclass
class GateResult:
    verdict: Verdict
    score: float | None
    start: float
    end: float
    prometheus: str
    requests: float | None
    objectives: list[ObjectiveResult]
    reasons: list[str]
    baseline: str = ""  # where the baseline came from

    def to_json(self) -> dict[str, Any]:
        """The result file, also read back as a later gate's baseline."""
        return {"format": "harness-gate/v1", **asdict(self)}


def evaluate(
    gate: GateFile,
    slos: list[SloFile],
    scope: Scope,
    baseline: Baseline = None,
    baseline_source: str = "",
) -> GateResult:
    by_name = {s.name: s for f in slos for s in f.slos}
    results = [_objective(o, by_name.get(o.slo or ""), scope, baseline) for o in gate.objectives]
    requests = _requests(by_name, scope)
    verdict, score, reasons = _verdict(gate, results, requests)
    return GateResult(
        verdict,
        score,
        scope.start,
        scope.end,
        scope.prom.base_url,
        requests,
        results,
        reasons,
        baseline_source,
    )


def _objective(o: Objective, slo: Slo | None, scope: Scope, baseline: Baseline) -> ObjectiveResult:
    reading = read(o, slo, scope)
    base = _baseline_value(o, slo, baseline)
    result = ObjectiveResult(
        o.name,
        o.indicator,
        o.slo,
        "inconclusive",
        reading.value,
        reading.query,
        reading.at,
        o.weight,
        o.key,
        baseline=base,
        detail=reading.detail,
    )
    passes = [_judge("pass", c, reading, slo, base) for c in o.pass_]
    warns = [_judge("warn", c, reading, slo, base) for c in o.warn]
    result.criteria = passes + warns
    if any(c.ok is None for c in passes) or reading.value is None:
        result.status = _NO_DATA[o.no_data]
        why = "no data" if reading.value is None else "no baseline value"
        result.detail = "; ".join(d for d in (result.detail, why) if d)
    elif all(c.ok for c in passes):
        result.status = "pass"
    elif warns and all(c.ok for c in warns):
        result.status = "warn"
    else:
        result.status = "fail"
    return result


def _judge(
    kind: Literal["pass", "warn"],
    c: Criterion,
    reading: Reading,
    slo: Slo | None,
    base: float | None,
) -> CriterionResult:
    threshold: float | None
    if c.relative is not None:
        threshold = None if base is None else relative_bound(base, c.relative)
    elif c.threshold == "objective":
        assert slo is not None
        threshold = slo.objective / 100
    else:
        threshold = float(c.threshold)  # type: ignore[arg-type]
    if reading.value is None or threshold is None:
        return CriterionResult(kind, c.describe(), threshold, None)
    return CriterionResult(kind, c.describe(), threshold, _OPS[c.op](reading.value, threshold))


def _baseline_value(o: Objective, slo: Slo | None, baseline: Baseline) -> float | None:
    if not any(c.relative for c in (*o.pass_, *o.warn)):
        return None
    if isinstance(baseline, Scope):
        return read(o, slo, baseline).value
    if baseline is None:
        return None
    return baseline.get(o.name)


def _requests(slos: dict[str, Slo], scope: Scope) -> float | None:
    """Every SLO's requests over the range (the largest: SLOs of one service overlap)."""
    counts = [ratio_over(slo, scope, scope.seconds)[2] for slo in slos.values()]
    known = [c for c in counts if c is not None]
    return max(known) if known else None


def _verdict(
    gate: GateFile, results: list[ObjectiveResult], requests: float | None
) -> tuple[Verdict, float | None, list[str]]:
    s = gate.settings
    reasons: list[str] = []
    scored = [r for r in results if r.status != "ignored"]
    missing = [r for r in scored if r.value is None]
    if s.min_requests > 0 and (requests is None or requests < s.min_requests):
        seen = "no" if requests is None else f"{requests:.0f}"
        reasons.append(f"too little traffic: {seen} requests in the range (needs {s.min_requests})")
        return "inconclusive", None, reasons
    if scored and len(missing) / len(scored) > s.max_no_data_share:
        reasons.append(
            f"{len(missing)} of {len(scored)} objectives have no data "
            f"(more than {s.max_no_data_share:.0%}): " + ", ".join(r.name for r in missing)
        )
        return "inconclusive", None, reasons
    score = _score(scored)
    for r in results:
        if r.key and r.status == "fail":
            reasons.append(f"key objective failed: {r.line()}")
    if reasons:
        return "fail", score, reasons
    unknown = [r for r in scored if r.status == "inconclusive"]
    if unknown:
        reasons += [f"inconclusive: {r.line()}" for r in unknown]
        return "inconclusive", score, reasons
    failed = [r for r in scored if r.status in ("fail", "warn")]
    reasons += [f"{r.status}: {r.line()}" for r in failed]
    if score is None:  # every weight 0: nothing is scored, the statuses decide
        score = 0.0 if any(r.status == "fail" for r in failed) else 100.0
    if score < s.warn_score:
        reasons.insert(0, f"score {score:.1f}% is under the warn score {s.warn_score:g}%")
        return "fail", score, reasons
    if score < s.pass_score:
        reasons.insert(0, f"score {score:.1f}% is under the pass score {s.pass_score:g}%")
        return "warn", score, reasons
    return "pass", score, reasons


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _score(scored: list[ObjectiveResult]) -> float | None:
    total = sum(r.weight for r in scored)
    if total == 0:
        return None
    earned = sum(r.weight * {"pass": 1.0, "warn": 0.5}.get(r.status, 0.0) for r in scored)
    return round(100 * earned / total, 2)
