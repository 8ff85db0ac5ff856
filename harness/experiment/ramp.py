"""Gradual chaos: run a ramp's steps, widest last, and stop at the breaking point.

Each step is one fault window of the experiment as that step runs it (its faults
journaled, observed every tick and rolled back like any other), then a wait for the
steady state to return. A step holds when no guardrail breached, every `during`
expectation passed inside its window, each SLO of `ramp.slos` met its objective over
the window, and the steady state came back within `recovery_within`. The first step
that does not hold is the breaking point and ends the ramp; the verdict fails only
when it is a step the hypothesis (`hold_through`) says holds.
"""

from __future__ import annotations

import time

from harness.experiment.context import RunContext
from harness.experiment.faultloop import Aborted, run_fault_window
from harness.experiment.phases import await_recovery, phase
from harness.experiment.plan import StepPlan, replan_step
from harness.experiment.serving import serving_replicas
from harness.experiment.stepslos import judge_slos
from harness.judging import during_failures
from harness.outcome import RampOutcome, StepResult, Verdict
from harness.safety.events import EventName

__all__ = ["run_ramp"]


def run_ramp(ctx: RunContext) -> None:
    """Run the planned steps until one breaks; then conclude from the breaking point.

    An abort that is not a guardrail's (the control plane went dark, the watchdog took
    over) is not a breaking point: it propagates, and the run is aborted."""
    ramp = ctx.outcome.ramp
    assert ramp is not None and ctx.steps
    for preflight in ctx.steps:
        result = ramp.steps[preflight.step - 1]
        planned = _still_serving(ctx, preflight)
        if isinstance(planned, str):
            ramp.limit = f"step {result.step} ({result.description}) not run: {planned}"
            break
        ctx.plan = planned.plan
        result.description, result.replicas = planned.description, _sorted(planned)
        _run_step(ctx, result)
        if result.status != "held":
            _found_break(ctx, ramp, result)
            break
    _conclude(ctx, ramp)


def _still_serving(ctx: RunContext, step: StepPlan) -> StepPlan | str:
    """The step as planned if every instance it hits still serves; else planned again
    against those serving now (a pod an earlier step killed was replaced under a new
    name), journaled as planned; a refusal now (fewer serving) ends the ramp there."""
    live = serving_replicas(ctx.env.runtime, ctx.topo)
    if step.plan.replicas <= set(live):
        return step
    again = replan_step(ctx.exp, ctx.topo, live, ctx.seed, step)
    if isinstance(again, str):
        return again
    for fault in again.plan.faults:
        ctx.journal.record(
            EventName.PLANNED,
            fault=fault.index,
            type=fault.spec.type,
            replicas=list(fault.replicas),
            services=[again.plan.service_of[r] for r in fault.replicas],
            links=[lk.name for lk in fault.links],
            step=again.step,
        )
    return again


def _sorted(step: StepPlan) -> tuple[str, ...]:
    return tuple(sorted(step.plan.replicas))


def _run_step(ctx: RunContext, result: StepResult) -> None:
    ctx.journal.record(
        EventName.RAMP_STEP,
        step=result.step,
        description=result.description,
        replicas=result.replicas,
    )
    first = len(ctx.outcome.fault_windows)
    with phase(ctx, f"step {result.step}", result.description):
        try:
            run_fault_window(ctx, step=result.step)
        except Aborted as exc:
            if not exc.breached:
                raise
            result.status = "breached"
            result.reasons.append(exc.reason)
    windows = ctx.outcome.fault_windows[first:]
    result.start = min((w.start for w in windows), default=time.time())
    result.end = max((w.end or time.time() for w in windows), default=result.start)
    if result.status != "breached":
        names = [p.name for p in ctx.exp.during_probes(ctx.evaluation)]
        result.reasons += during_failures(ctx.outcome, windows, names)
    with phase(ctx, "recovery", f"after step {result.step}"):
        result.recovery_seconds = await_recovery(ctx)
    if result.recovery_seconds is None:
        limit = ctx.exp.expectations.recovery_limit
        result.reasons.append(f"steady state did not return within {limit:g}s of rollback")
    result.slos, broken = judge_slos(ctx, result.start, result.end)
    result.reasons += broken
    if result.status != "breached":
        result.status = "broke" if result.reasons else "held"
    ctx.journal.record(
        EventName.RAMP_STEP_END,
        step=result.step,
        status=result.status,
        reasons=result.reasons,
        slos=[b.to_json() for b in result.slos],
    )


def _found_break(ctx: RunContext, ramp: RampOutcome, result: StepResult) -> None:
    """The breaking point: this step. A guardrail's abort there is the ramp's stop, and
    the run's abort only when the hypothesis says the step holds (`_conclude`)."""
    ramp.breaking_point = result.step
    first = ramp.steps[0].start
    decided = ctx.outcome.abort.time if ctx.outcome.abort is not None else time.time()
    ramp.seconds_to_break = round(decided - first, 3) if first is not None else None
    if ctx.outcome.abort is not None and result.step > ramp.must_hold:
        ctx.outcome.abort = None  # a stop past what the hypothesis claims: a finding
        ctx.outcome.figures.detection_seconds = None
    elif ctx.outcome.abort is not None and result.start is not None:
        detected = ctx.outcome.abort.time - result.start
        ctx.outcome.figures.detection_seconds = round(detected, 3)
    ctx.journal.record(
        EventName.RAMP_BREAKING_POINT,
        step=result.step,
        seconds_to_break=ramp.seconds_to_break,
        summary=ramp.summary(),
    )


def _conclude(ctx: RunContext, ramp: RampOutcome) -> None:
    """Deviated (or aborted, for a guardrail) when a step the hypothesis claims broke."""
    point = ramp.breaking_point
    if point is None or point > ramp.must_hold:
        return
    verdict: Verdict = "aborted" if ramp.steps[point - 1].status == "breached" else "deviated"
    claim = f"the hypothesis holds through step {ramp.must_hold}"
    ctx.outcome.fail(verdict, f"ramp: {ramp.summary()} ({claim})")
