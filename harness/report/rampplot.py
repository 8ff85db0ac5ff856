"""The ramp's plots: each step against each SLO it was judged by (the SLI over the step's
fault window beside the objective) and against each expectation (its worst value inside
the step beside the threshold), the breaking point marked."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harness.judging import worst_of  # noqa: E402
from harness.outcome import Outcome, StepResult  # noqa: E402
from harness.report.plots import Chart, legend_below, svg_of  # noqa: E402

__all__ = ["ramp_charts"]

_COLOURS = {"held": "tab:green", "broke": "tab:red", "breached": "tab:red"}


def ramp_charts(outcome: Outcome) -> list[Chart]:
    """One chart per SLO of the ramp and one per `during` expectation; none without a ramp."""
    if outcome.ramp is None:
        return []
    ran = [s for s in outcome.ramp.steps if s.status != "not run" and s.start is not None]
    if not ran:
        return []
    return [*_slo_charts(ran), *_expectation_charts(outcome, ran)]


def _slo_charts(ran: list[StepResult]) -> list[Chart]:
    charts = []
    for name in sorted({b.slo for s in ran for b in s.slos}):
        burns = [next((b for b in s.slos if b.slo == name), None) for s in ran]
        values = [None if b is None or b.error_ratio is None else 1 - b.error_ratio for b in burns]
        first = next(b for b in burns if b is not None)
        objective = first.objective / 100
        svg = _draw(ran, values, objective, f">= {objective:g} (objective)", "SLI")
        query = f"1 - ({first.error_query}) / ({first.total_query}), over each step's window"
        charts.append(Chart(f"ramp: SLO {name} at each step", query, svg))
    return charts


def _expectation_charts(outcome: Outcome, ran: list[StepResult]) -> list[Chart]:
    charts = []
    during = outcome.evaluations("during")
    for name in dict.fromkeys(r.name for r in during):
        mine = [r for r in during if r.name == name]
        values: list[float | None] = []
        for s in ran:
            assert s.start is not None
            end = s.end if s.end is not None else s.start
            worst = worst_of([r for r in mine if s.start <= r.time <= end])
            values.append(None if worst is None else worst.value)
        first = mine[0]
        label = f"{first.op} {first.threshold:g} (threshold)"
        svg = _draw(ran, values, first.threshold, label, "worst value in the step")
        charts.append(Chart(f"ramp: expectation {name} at each step", first.query, svg))
    return charts


def _draw(
    steps: Sequence[StepResult],
    values: Sequence[float | None],
    line: float,
    line_label: str,
    unit: str,
) -> str:
    fig, ax = plt.subplots(figsize=(11, 2.8), dpi=100, layout="constrained")
    xs = list(range(len(steps)))
    for x, step, value in zip(xs, steps, values, strict=True):
        colour = _COLOURS.get(step.status, "tab:grey")
        if value is None:
            ax.annotate("no data", (x, line), ha="center", color="tab:red", fontsize=8)
            continue
        ax.bar(x, value, width=0.5, color=colour, alpha=0.7, label=step.status)
        ax.annotate(f"{value:.4g}", (x, value), ha="center", va="bottom", fontsize=8)
    ax.axhline(line, color="black", linestyle="--", linewidth=1.2, label=line_label)
    present = [v for v in values if v is not None] + [line]
    low, high = min(present), max(present)
    pad = (high - low) * 0.15 or abs(high) * 0.05 or 0.05
    ax.set_ylim(low - pad, high + pad)
    ax.set_xticks(xs, [f"step {s.step}\n{s.description}" for s in steps], fontsize=8)
    ax.set_ylabel(unit)
    ax.grid(alpha=0.3, axis="y")
    legend_below(fig, ax)
    return svg_of(fig)
