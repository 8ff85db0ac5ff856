"""Turn the expectations evaluated during the fault into a verdict that names the worst
value seen, over samples taken inside a fault window only."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from harness.experiment.context import RunContext

__all__ = ["judge_during", "worst_of"]


def judge_during(ctx: RunContext) -> None:
    """Deviated when an expectation failed (or had no data) inside a fault window."""
    if ctx.outcome.abort is not None:
        return
    inside = [
        p
        for p in ctx.outcome.probes
        if p["phase"] == "during" and _in_window(p["time"], ctx.outcome.fault_windows)
    ]
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in inside:
        by_name[p["name"]].append(p)
    for name, results in sorted(by_name.items()):
        bad = [p for p in results if p["status"] != "pass"]
        if bad:
            ctx.outcome.fail("deviated", _summary(name, results, bad))


def _in_window(t: float, windows: list[dict[str, Any]]) -> bool:
    return any(w["start"] <= t <= w.get("end", float("inf")) for w in windows)


def worst_of(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The evaluation furthest on the wrong side of the threshold (None: no values)."""
    valued = [p for p in results if p["value"] is not None]
    if not valued:
        return None
    op = valued[0]["op"]
    low_is_bad = op in (">", ">=")
    pick = min if low_is_bad else max
    if op in ("==", "!="):  # no direction: the largest distance from the threshold
        return max(valued, key=lambda p: abs(p["value"] - p["threshold"]))
    return pick(valued, key=lambda p: p["value"])


def _summary(name: str, results: list[dict[str, Any]], bad: list[dict[str, Any]]) -> str:
    worst = worst_of(bad)  # a passing value is never named the worst
    no_data = sum(1 for p in bad if p["status"] in ("no data", "error"))
    counts = f"{len(bad)} of {len(results)} evaluations in the fault window failed"
    counts += f", {no_data} with no data" if no_data else ""
    if worst is None:
        return f"expectation {name} had no data during the fault ({counts})"
    at = time.strftime("%H:%M:%S", time.localtime(worst["time"]))
    return (
        f"expectation {name} did not hold during the fault: worst {_fmt(worst['value'])} "
        f"at {at} (needs {worst['op']} {_fmt(worst['threshold'])}); {counts}"
    )


def _fmt(value: float) -> str:
    """Rounded to what matters: four significant digits, no exponent for ordinary values."""
    return f"{value:.4g}"
