"""Turn the expectations evaluated during the fault into a verdict that names the worst
value seen, over samples taken inside a fault window only."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence

from harness.experiment.context import RunContext
from harness.experiment.outcome import FaultWindow, Outcome
from harness.probes.promql import ProbeResult

__all__ = ["during_failures", "judge_during", "worst_of"]


def judge_during(ctx: RunContext) -> None:
    """Deviated when an expectation failed (or had no data) inside a fault window."""
    if ctx.outcome.abort is not None:
        return
    for reason in during_failures(ctx.outcome, ctx.outcome.fault_windows):
        ctx.outcome.fail("deviated", reason)


def during_failures(outcome: Outcome, windows: Sequence[FaultWindow]) -> list[str]:
    """One line per expectation that failed (or had no data) inside one of `windows`."""
    by_name: dict[str, list[ProbeResult]] = defaultdict(list)
    for r in outcome.evaluations("during"):
        if any(w.covers(r.time) for w in windows):
            by_name[r.name].append(r)
    failures = []
    for name, results in sorted(by_name.items()):
        bad = [r for r in results if r.status != "pass"]
        if bad:
            failures.append(_summary(name, results, bad))
    return failures


def worst_of(results: list[ProbeResult]) -> ProbeResult | None:
    """The evaluation furthest on the wrong side of the threshold (None: no values)."""
    valued = [(r, r.value) for r in results if r.value is not None]
    if not valued:
        return None
    op = valued[0][0].op
    if op in ("==", "!="):  # no direction: the largest distance from the threshold
        return max(valued, key=lambda rv: abs(rv[1] - rv[0].threshold))[0]
    pick = min if op in (">", ">=") else max  # low is bad for > and >=
    return pick(valued, key=lambda rv: rv[1])[0]


def _summary(name: str, results: list[ProbeResult], bad: list[ProbeResult]) -> str:
    worst = worst_of(bad)  # a passing value is never named the worst
    no_data = sum(1 for r in bad if r.status in ("no data", "error"))
    counts = f"{len(bad)} of {len(results)} evaluations in the fault window failed"
    counts += f", {no_data} with no data" if no_data else ""
    if worst is None or worst.value is None:
        return f"expectation {name} had no data during the fault ({counts})"
    at = time.strftime("%H:%M:%S", time.localtime(worst.time))
    return (
        f"expectation {name} did not hold during the fault: worst {_fmt(worst.value)} "
        f"at {at} (needs {worst.op} {_fmt(worst.threshold)}); {counts}"
    )


def _fmt(value: float) -> str:
    """Rounded to what matters: four significant digits, no exponent for ordinary values."""
    return f"{value:.4g}"
