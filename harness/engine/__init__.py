"""The experiment state machine.

preflight → load on → steady state before (not steady: stop, inject nothing) →
faults on the engine clock, observed every tick (guardrails, expectations, the
control plane) → rollback (always) → recovery (measured) → steady state after →
checks → verdict. Each phase is a small function in `phases`; rollback lives in
`faultloop`; this module only orders them and turns what happened into a verdict.
"""

from __future__ import annotations

import subprocess
import time

from harness.engine.context import EXIT_CODES, Display, Outcome, RunContext
from harness.engine.faultloop import Aborted, run_fault_window
from harness.engine.phases import (
    await_recovery,
    await_steady_state,
    check_writes,
    phase,
    preflight,
    start_load,
    start_watchdog,
    steady_state,
    stop_load,
)
from harness.errors import HarnessError
from harness.safety.journal import open_faults
from harness.safety.lock import RunLock, clear_active
from harness.safety.signals import Interrupted, raise_on_signals

__all__ = ["EXIT_CODES", "Display", "Outcome", "RunContext", "run_experiment"]


def run_experiment(ctx: RunContext) -> Outcome:
    """Run one experiment; Refused/InvalidInput from preflight propagate (nothing injected)."""
    lock = RunLock(ctx.stack_run.root)
    with phase(ctx, "preflight"):
        lock.acquire()
        try:
            preflight(ctx)
        except BaseException:
            lock.release()
            raise
    try:
        with raise_on_signals():
            _run(ctx)
    except Interrupted as exc:
        ctx.outcome.fail("interrupted", f"{exc}; every fault was rolled back")
    except HarnessError as exc:
        ctx.outcome.fail("error", str(exc))
    finally:
        stop_load(ctx)
        if not open_faults(ctx.journal.events):
            clear_active(ctx.stack_run.root)
        lock.release()
        _finish(ctx)
    return ctx.outcome


def _run(ctx: RunContext) -> None:
    if ctx.dry_run:
        with phase(ctx, "dry run", "nothing is injected"):
            results = steady_state(ctx, "dry-run")
        ctx.outcome.verdict = "dry run"
        for r in results:
            if not r.ok:
                ctx.outcome.reasons.append(f"steady state would fail: {r.summary()}")
        return
    with phase(ctx, "load"):
        start_load(ctx)
    with phase(ctx, "steady state before"):
        before = await_steady_state(ctx)
    if not all(r.ok for r in before):
        for r in before:
            if not r.ok:
                ctx.outcome.fail("not steady", f"not steady before the fault: {r.summary()}")
        return
    _faults_then_recovery(ctx)


def _faults_then_recovery(ctx: RunContext) -> None:
    heartbeat = ctx.out_dir / "heartbeat"
    watchdog = start_watchdog(ctx, heartbeat)
    try:
        with phase(ctx, "fault"):
            try:
                run_fault_window(ctx, heartbeat)
            except Aborted as exc:
                _aborted(ctx, exc)
        _judge_during(ctx)
        with phase(ctx, "recovery"):
            seconds = await_recovery(ctx)
        ctx.outcome.figures["recovery_seconds"] = seconds
        if seconds is None:
            limit = ctx.exp.expectations.recovery_within or 60.0
            ctx.outcome.fail(
                "deviated", f"steady state did not return within {limit:g}s of rollback"
            )
        with phase(ctx, "steady state after"):
            after = steady_state(ctx, "after")
        for r in after:
            if not r.ok:
                ctx.outcome.fail("deviated", f"not steady after the fault: {r.summary()}")
        stop_load(ctx)
        check_writes(ctx)
    finally:
        if not open_faults(ctx.journal.events):
            clear_active(ctx.stack_run.root)
            _stop_watchdog(watchdog)
        # else: the watchdog stays, and retries the revert once this process is gone


def _aborted(ctx: RunContext, exc: Aborted) -> None:
    """The decision was journaled when taken (faultloop); here it becomes the verdict."""
    ctx.outcome.fail("aborted", exc.reason)


def _judge_during(ctx: RunContext) -> None:
    if ctx.outcome.abort is not None:
        return
    failing = [p for p in ctx.outcome.probes if p["phase"] == "during" and p["status"] != "pass"]
    if failing:
        names = sorted({p["name"] for p in failing})
        worst = failing[0]
        ctx.outcome.fail(
            "deviated",
            f"expectation {', '.join(names)} did not hold during the fault "
            f"({len(failing)} evaluations; first: {worst['value']} "
            f"{worst['op']} {worst['threshold']} is {worst['status']})",
        )


def _stop_watchdog(proc: subprocess.Popen[bytes]) -> None:
    """The watchdog exits by itself once the pointer is gone; wait briefly, then stop it."""
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(timeout=5)


def _finish(ctx: RunContext) -> None:
    o = ctx.outcome
    ctx.journal.set(
        verdict=o.verdict,
        exit_code=o.exit_code,
        reasons=o.reasons,
        figures=o.figures,
        load=o.load,
        checks=o.checks,
        abort=o.abort,
        phases=o.phases,
        fault_windows=o.fault_windows,
        finished=time.time(),
    )
    ctx.journal.record("verdict", verdict=o.verdict, exit_code=o.exit_code)
