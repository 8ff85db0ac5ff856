"""The experiment state machine.

preflight → load on → steady state before (not steady: stop, inject nothing) →
faults on the engine clock, observed every tick (guardrails, expectations, the
control plane) → rollback (always) → watchdog released → recovery (measured) →
steady state after → checks → verdict. Each phase is a small function in `phases`;
rollback lives in `faultloop`; this module orders them, runs every cleanup on one
stack, and turns what happened into a verdict. It never raises for what happens in a
run: a refusal, an error or a signal ends in the outcome, and the verdict is written
whatever happened — "error" when none was reached, never a default "held".
"""

from __future__ import annotations

import subprocess
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from harness.errors import HarnessError, InvalidInput, Refused, RollbackFailed
from harness.experiment.alerting import await_alerts
from harness.experiment.context import EXIT_CODES, Display, Outcome, RunContext
from harness.experiment.faultloop import Aborted, run_fault_window
from harness.experiment.judge import judge_during
from harness.experiment.phases import (
    await_recovery,
    await_steady_state,
    describe_plan,
    measure_budget,
    phase,
    preflight,
    run_checks,
    start_load,
    start_watchdog,
    steady_state,
    stop_load,
)
from harness.experiment.ramp import run_ramp
from harness.outcome import verdict_fields
from harness.safety.events import EventName, FaultApplying
from harness.safety.heartbeat import Heartbeat
from harness.safety.journal import render_json, still_open
from harness.safety.lock import RunLock, clear_active, read_active
from harness.safety.signals import (
    Interrupted,
    deferred_signals,
    hold_signals,
    noted_signals,
    raise_on_signals,
)

__all__ = ["EXIT_CODES", "Display", "Outcome", "RunContext", "run_experiment"]


def run_experiment(ctx: RunContext) -> Outcome:
    """Run one experiment and return its outcome; the journal ends with the verdict.

    The first SIGINT/SIGTERM raises where the run is; from the moment anything ends
    the run, signals are only noted, so the cleanup, the verdict and the lock release
    that follow are never cut short. The lock is released after the verdict is
    written: the next run cannot start before this one's journal is complete.
    """
    lock = RunLock(ctx.stack_run.root)
    cleanup = ExitStack()
    with raise_on_signals():
        try:
            try:
                _run(ctx, lock, cleanup)
            except BaseException as exc:  # whatever ended the run becomes its outcome
                hold_signals()
                _conclude(ctx, exc)
        except Interrupted as late:  # a signal landed before hold_signals(): it was the last
            _conclude(ctx, late)
        hold_signals()
        cleanup.close()  # every step is _safely: none can skip the next
        _finish(ctx)
        _safely(ctx, "releasing the lock", lock.release)
    return ctx.outcome


def _conclude(ctx: RunContext, exc: BaseException) -> None:
    cause = _failed_before_rollback(exc)
    if cause is not None:  # why the run failed comes first, then what it left behind
        _conclude(ctx, cause)
    if isinstance(exc, Refused | InvalidInput):
        ctx.outcome.fail("refused", str(exc))
    elif isinstance(exc, Interrupted):
        _safely(ctx, "saying so", _say_stopping, ctx)
        ctx.outcome.fail("interrupted", f"{exc}; {_what_is_left(ctx)}")
    elif isinstance(exc, HarnessError):
        if noted_signals():  # Ctrl-C while a revert was retried: it was handed over
            _safely(ctx, "saying so", _say_stopping, ctx)
        ctx.outcome.fail("error", str(exc))
    else:  # a bug must still end as a verdict, with its traceback
        trace = "".join(traceback.format_exception(exc))
        ctx.journal.record(EventName.EXCEPTION, traceback=trace)
        ctx.outcome.fail("error", f"unexpected {type(exc).__name__}: {exc}")


def _failed_before_rollback(exc: BaseException) -> Exception | None:
    """The error that ended the fault window when its rollback then failed too (a fault
    never injected, then held on delete): the rollback's error must not hide it. An
    abort and a signal say themselves (the abort's reason, "interrupted")."""
    context = exc.__context__
    if not isinstance(exc, RollbackFailed) or not isinstance(context, Exception):
        return None
    if isinstance(context, RollbackFailed | Aborted | Interrupted):
        return None
    return context


def _run(ctx: RunContext, lock: RunLock, cleanup: ExitStack) -> None:
    with phase(ctx, "preflight"):
        lock.acquire()
        preflight(ctx)
    beat = Heartbeat(ctx.out_dir / "heartbeat").start()
    cleanup.callback(_safely, ctx, "stopping the heartbeat", beat.stop)
    if ctx.dry_run:
        _dry_run(ctx, cleanup)
        return
    with phase(ctx, "load"):
        cleanup.callback(_safely, ctx, "stopping the load", stop_load, ctx)
        start_load(ctx)
    with phase(ctx, "steady state before"):
        before = await_steady_state(ctx)
    if not all(r.ok for r in before):
        for r in before:
            if not r.ok:
                ctx.outcome.fail("not steady", f"not steady before the fault: {r.summary()}")
        return
    _faults_then_recovery(ctx, cleanup)
    ctx.outcome.reach("held")


def _dry_run(ctx: RunContext, cleanup: ExitStack) -> None:
    """Everything a run does before its first injection (load, steady state), then stop:
    exit 1 when the run would stop there, and say what the faults would hit."""
    ctx.outcome.plan = describe_plan(ctx)
    with phase(ctx, "load", "dry run: nothing will be injected"):
        cleanup.callback(_safely, ctx, "stopping the load", stop_load, ctx)
        start_load(ctx)
    with phase(ctx, "steady state before"):
        results = await_steady_state(ctx, "dry-run")
    failing = [r for r in results if not r.ok]
    for r in failing:
        ctx.outcome.fail("not steady", f"steady state would fail: {r.summary()}")
    if not failing:
        ctx.outcome.reach("dry run")


def _faults_then_recovery(ctx: RunContext, cleanup: ExitStack) -> None:
    with deferred_signals():  # no signal between starting the watchdog and owning its release
        watchdog = start_watchdog(ctx, ctx.out_dir / "heartbeat")
        cleanup.callback(_safely, ctx, "releasing the watchdog", _release_watchdog, ctx, watchdog)
    if ctx.steps:
        _ramp(ctx, watchdog)
    else:
        _faults(ctx, watchdog)
    with phase(ctx, "steady state after"):
        after = steady_state(ctx, "after")
    for r in after:
        if not r.ok:
            ctx.outcome.fail("deviated", f"not steady after the fault: {r.summary()}")
    if ctx.exp.expectations.alerts:
        with phase(ctx, "alerts"):
            await_alerts(ctx)
    stop_load(ctx)
    run_checks(ctx)


def _faults(ctx: RunContext, watchdog: subprocess.Popen[bytes]) -> None:
    """One fault window, judged; then the recovery, measured."""
    with phase(ctx, "fault"):
        try:
            run_fault_window(ctx)  # RollbackFailed propagates: the run is an error
        except Aborted as exc:
            ctx.outcome.fail("aborted", exc.reason)  # journaled when decided (faultloop)
    _release_watchdog(ctx, watchdog)  # every fault is off: the switch is no longer needed
    judge_during(ctx)
    with phase(ctx, "recovery"):
        seconds = await_recovery(ctx)
    ctx.outcome.figures.record_recovery(seconds)
    if seconds is None:
        limit = ctx.exp.expectations.recovery_limit
        ctx.outcome.fail("deviated", f"steady state did not return within {limit:g}s of rollback")


def _ramp(ctx: RunContext, watchdog: subprocess.Popen[bytes]) -> None:
    """The ramp's steps, each judged and recovered from, until the breaking point."""
    try:
        run_ramp(ctx)  # RollbackFailed propagates: the run is an error
    except Aborted as exc:  # not a guardrail: the control plane went dark
        ctx.outcome.fail("aborted", exc.reason)
    _release_watchdog(ctx, watchdog)
    ramp = ctx.outcome.ramp
    ran = [s for s in ramp.steps if s.status != "not run"] if ramp is not None else []
    if ran:
        ctx.outcome.figures.record_recovery(ran[-1].recovery_seconds)


def _release_watchdog(ctx: RunContext, proc: subprocess.Popen[bytes]) -> None:
    """Once the journal lists no fault in place: clear the pointer and let the watchdog
    exit. While a fault may be in place, leave both: the watchdog takes over when we exit."""
    if still_open(ctx.journal.path):
        return
    active = read_active(ctx.stack_run.root)
    if active is not None and active.journal == str(ctx.journal.path):
        clear_active(ctx.stack_run.root)
    if proc.poll() is not None:
        return
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(timeout=5)
    ctx.journal.record(EventName.WATCHDOG_RELEASED, exit_code=proc.returncode)


def _say_stopping(ctx: RunContext) -> None:
    """A signal ended the run, and the faults are off (or handed over): say so now. The
    cleanup, the verdict and the report still take seconds, and Ctrl-C must not look
    ignored meanwhile."""
    if not any(isinstance(e, FaultApplying) for e in ctx.journal.events):
        said = "nothing was injected"
    else:
        said = _what_is_left(ctx)
    ctx.display.phase("interrupted", f"{said}; writing the report…")


def _what_is_left(ctx: RunContext) -> str:
    left = still_open(ctx.journal.path)
    if not left:
        return "every fault was rolled back"
    return f"{len(left)} fault(s) may still be in place: run `harness recover`"


def _safely(ctx: RunContext, what: str, fn: Callable[..., Any], *args: Any) -> None:
    """One cleanup step: its failure (or a signal during it) is recorded, not allowed to
    skip the steps after it (releasing the lock, writing the verdict)."""
    try:
        fn(*args)
    except Interrupted as exc:
        ctx.outcome.fail("interrupted", f"{exc} while {what}")
    except Exception as exc:
        ctx.outcome.fail("error", f"{what} failed: {type(exc).__name__}: {exc}")


def _safely_measure(ctx: RunContext) -> None:
    """The budget is a figure: failing to measure it is noted, never a verdict."""
    try:
        measure_budget(ctx)
    except Exception as exc:
        ctx.outcome.reasons.append(f"error budget not measured: {type(exc).__name__}: {exc}")


def _finish(ctx: RunContext) -> None:
    """Write the verdict (only now is it reached) and render journal.json."""
    o = ctx.outcome
    if o.abort is not None and o.abort.reason not in o.reasons:
        o.reasons.insert(0, o.abort.reason)  # a rollback failure must not hide why we aborted
    if o.verdict is None:
        o.fail("error", "the run ended without reaching a verdict")
    if o.probes:  # it got past preflight: there is a range to measure
        _safely_measure(ctx)
    ctx.journal.record(EventName.VERDICT, **verdict_fields(o), finished=time.time())
    render_json(ctx.journal.path)
    if ctx.annotator is not None:  # after the verdict: a slow Grafana never delays it
        ctx.annotator.ended(ctx.run_id, ctx.exp.name, time.time(), o.verdict or "error")
