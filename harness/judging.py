"""Reading the evaluations made during a fault: which failed, which were judged (their
look-back inside the fault), the worst value seen. Pure functions of the outcome, so the
engine's verdict (`harness.experiment.judge`) and the report say the same thing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from harness.outcome import FaultWindow, Outcome, ProbeEvaluation
from harness.probes.promql import ProbeResult

__all__ = ["during_failures", "judged_note", "worst_of"]


def during_failures(
    outcome: Outcome, windows: Sequence[FaultWindow], expected: Sequence[str] = ()
) -> list[str]:
    """One line per expectation that failed, had no data, or (for those `expected`) had
    no judged evaluation inside one of `windows`."""
    by_name: dict[str, list[ProbeEvaluation]] = {name: [] for name in expected}
    for e in outcome.probes:
        if e.phase == "during" and any(w.covers(e.result.time) for w in windows):
            by_name.setdefault(e.result.name, []).append(e)
    failures = []
    for name, evals in sorted(by_name.items()):
        judged = [e.result for e in evals if e.judged]
        if not judged:
            failures.append(f"expectation {name}: no evaluation inside the fault ({_none(evals)})")
            continue
        bad = [r for r in judged if r.status != "pass"]
        if bad:
            note = judged_note(evals)
            failures.append(_summary(name, judged, bad) + (f"; {note}" if note else ""))
    return failures


def judged_note(evals: Sequence[ProbeEvaluation]) -> str:
    """ "judged 14 of 20 evaluations, those whose 2 s window lay inside the fault (from
    +2 s)"; "" when every one was judged."""
    judged = sum(1 for e in evals if e.judged)
    if judged == len(evals):
        return ""
    return f"judged {judged} of {len(evals)} evaluations, {_those(evals)}"


def _none(evals: Sequence[ProbeEvaluation]) -> str:
    if not evals:
        return "never evaluated while a fault was in force"
    return f"none of its {len(evals)} evaluations was judged: it judges {_those(evals)}"


def _those(evals: Sequence[ProbeEvaluation]) -> str:
    marked = next((e for e in evals if e.basis), None)
    if marked is None or marked.settle is None:
        return "those inside the fault"
    return f"those whose {marked.basis} lay inside the fault (from +{marked.settle:g} s)"


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
