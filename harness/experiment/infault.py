"""What lies inside the fault: the unbroken stretch of fault windows an evaluation falls
in, and whether a `during` evaluation's look-back lies inside it (only then is it judged).

Right after an injection a client probe's window, or a query's rate range, still holds
what happened before the fault: judging it would say "no errors during the fault" from
pre-fault successes. Such evaluations are recorded and drawn, marked not judged, with
why; the verdict reads only the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from harness.experiment.context import RunContext
from harness.outcome import FaultWindow, ProbeEvaluation
from harness.probes.lookback import Settle, settle_of
from harness.probes.promql import ProbeResult
from harness.specs.experiment import AnyProbe

__all__ = ["during_evaluation", "stretch_start"]

_ALWAYS = Settle(0.0, "", "")  # a whole-run no_alert: any firing sample counts, before too


def stretch_start(windows: Sequence[FaultWindow], t: float, gap: float = 0.0) -> float | None:
    """When the faults in force at `t` began: the start of the unbroken stretch of
    windows that covers `t` (None: no fault at `t`). Windows that overlap, or where the
    next starts within `gap` seconds of the last one's end (back to back on the engine's
    clock), are one stretch."""
    spans = sorted((w.start, math.inf if w.end is None else w.end) for w in windows)
    start, end = -math.inf, -math.inf
    for s, e in spans:
        if s > end + gap:
            if start <= t <= end:
                return start
            start = s
        end = max(end, e)
    return start if start <= t <= end else None


def during_evaluation(ctx: RunContext, probe: AnyProbe, result: ProbeResult) -> ProbeEvaluation:
    """`result` as a `during` evaluation: judged when `probe`'s look-back (its settle)
    lies inside the faults in force, else recorded with why it is not."""
    settle = _settle(ctx, probe)
    start = stretch_start(ctx.outcome.fault_windows, result.time, ctx.exp.guard_interval)
    inside = start is not None and result.time - settle.seconds >= start
    why = "" if inside else (settle.why if start is not None else "no fault in force")
    if inside and result.status == "pending":  # no request sent into the fault is back yet
        inside, why = False, result.detail
    return ProbeEvaluation("during", result, inside, why, settle.seconds, settle.basis)


def _settle(ctx: RunContext, probe: AnyProbe) -> Settle:
    if probe not in ctx.exp.expectations.during:
        return _ALWAYS
    return settle_of(probe, ctx.evaluation)
