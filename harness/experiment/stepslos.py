"""The stack's SLOs that judge each step of a ramp (`ramp.slos`).

A step meets an SLO when the SLI over the step's fault window meets the objective:
the SLO's own error and total queries with `{{.window}}` = the window, at its end. No
request in the window is "no data", and no data never holds.
"""

from __future__ import annotations

from harness.errors import InvalidInput, Issue
from harness.experiment.context import RunContext
from harness.slo import load_slo_file
from harness.slo.budget import BudgetBurn, budget_burnt

__all__ = ["judge_slos", "refuse_unknown_slos"]


def refuse_unknown_slos(ctx: RunContext) -> None:
    """Every name in `ramp.slos` is an SLO of the stack's SLO files (preflight)."""
    wanted = ctx.exp.ramp.slos if ctx.exp.ramp is not None else ()
    if not wanted:
        return
    known = {slo.name for path in ctx.topo.slo.files for slo in load_slo_file(path).slos}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        have = ", ".join(sorted(known)) or "none: the stack names no SLO files (slo.files)"
        message = f"unknown SLO {', '.join(unknown)} (the stack's SLOs: {have})"
        raise InvalidInput([Issue(str(ctx.source), None, "ramp.slos", message)])


def judge_slos(ctx: RunContext, start: float, end: float) -> tuple[list[BudgetBurn], list[str]]:
    """Each named SLO over [start, end], and why the step broke it (empty: it held)."""
    wanted = set(ctx.exp.ramp.slos if ctx.exp.ramp is not None else ())
    burns: list[BudgetBurn] = []
    for path in ctx.topo.slo.files if wanted else ():
        burns += [
            b
            for b in budget_burnt(
                load_slo_file(path), ctx.prom, start, end, ctx.topo.slo.period_seconds
            )
            if b.slo in wanted
        ]
    return burns, [why for b in burns if (why := _broken(b))]


def _broken(b: BudgetBurn) -> str:
    if b.error_ratio is None:
        return f"SLO {b.slo}: {b.problem} over the step (`{b.total_query}`)"
    if b.error_ratio <= 1 - b.objective / 100 + 1e-12:
        return ""
    return (
        f"SLO {b.slo}: SLI {1 - b.error_ratio:.4%} over the step's {b.range_seconds:.0f}s, "
        f"under the objective {b.objective:g}% (error ratio {b.error_ratio:.4g} of "
        f"{b.requests:.0f} requests, `{b.error_query}` / `{b.total_query}`)"
    )
