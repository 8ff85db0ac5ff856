"""Inject, observe every tick, and always roll back.

Each action is journaled before it is applied and its revert pushed onto the run's
RevertStack, which unwinds on every exit path: the end of a fault's window, the
engine's `max_duration` clock, a guardrail breach, Toxiproxy or Prometheus going
dark, the watchdog taking over, SIGINT/SIGTERM, or an exception. Signals wait while
faults are being removed and act as soon as the removal is done. A revert that fails
is retried (`RevertStack.roll_back`) and, if it still fails, handed to the watchdog and
not hidden: the rollback is journaled incomplete, naming what may still be in place.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.clients.toxiproxy import ToxiproxyError
from harness.errors import RollbackFailed
from harness.experiment.context import RunContext
from harness.experiment.infault import during_evaluation, stretch_start
from harness.experiment.plan import PlannedFault
from harness.faults import actions_for
from harness.faults.base import killed_by
from harness.outcome import Abort, FaultWindow, ProbeEvaluation
from harness.probes.promql import ProbeResult
from harness.runtime.base import Instance
from harness.safety.events import EventName, WatchdogRecovering
from harness.safety.rollback import Handle, RevertStack
from harness.safety.signals import deferred_signals
from harness.specs.experiment import AnyProbe, ClientProbe

__all__ = ["Aborted", "run_fault_window"]

CLIENT_POLL = 0.05  # seconds between looks for requests just come back (client guardrails)


class Aborted(Exception):  # noqa: N818 — a decision, not a failure
    """A guardrail breached (or the control plane went dark): stop and roll back."""

    def __init__(self, reason: str, evidence: list[ProbeResult]) -> None:
        super().__init__(reason)
        self.reason, self.evidence = reason, evidence

    @property
    def breached(self) -> bool:
        """A guardrail said stop (with its evidence), not a control plane gone dark."""
        return bool(self.evidence)


@dataclass
class _Restart:
    """An instance we killed: when, and when the runtime had its replacement ready."""

    killed: Instance
    at: float
    back: float | None = None


@dataclass
class _Scheduled:
    fault: PlannedFault
    start: float
    end: float
    state: str = "pending"  # pending -> active -> removed


@dataclass(frozen=True)
class _Window:
    """One run of the plan's faults: its names' scope, its ramp step, its schedule."""

    scope: str  # the run id, or the run id and the step: fault ids and toxic names
    step: int | None
    schedule: list[_Scheduled]
    restarts: list[_Restart] = field(default_factory=list)  # the instances it killed


def run_fault_window(ctx: RunContext, step: int | None = None) -> None:
    """Run the faults on the engine clock; returns only after every fault is reverted
    (RollbackFailed when one could not be). `step`: the ramp's step being run, which
    names its faults apart from every other step's."""
    assert ctx.plan is not None
    t0 = time.monotonic()
    scope = ctx.run_id if step is None else f"{ctx.run_id}-s{step}"
    schedule = [
        _Scheduled(f, t0 + f.spec.start_after, t0 + f.spec.start_after + f.spec.duration)
        for f in ctx.plan.faults
    ]
    reverts = RevertStack(ctx.journal, ctx.env)
    window = _Window(scope, step, schedule)
    ended = False  # at the window's end or by an abort, not by a signal or an error
    try:
        _loop(ctx, window, reverts, t0 + ctx.exp.blast_radius.max_duration)
        ended = True
    except Aborted:
        ended = True
        raise
    finally:
        _roll_back(ctx, schedule, reverts)
        if ended:
            _await_restarts(ctx, window.restarts)


def _loop(ctx: RunContext, window: _Window, reverts: RevertStack, hard_stop: float) -> None:
    restarts = window.restarts
    next_expectation = time.monotonic()
    schedule = window.schedule
    while True:
        now = time.monotonic()
        _check_takeover(ctx)
        for item in schedule:
            _advance(ctx, window, item, now, hard_stop, reverts, restarts)
        _track_restarts(ctx, restarts)
        if all(i.state == "removed" for i in schedule):
            return
        if any(i.state == "active" for i in schedule):
            expect = now >= next_expectation
            if expect:
                next_expectation = now + ctx.exp.tick
            _observe(ctx, max(i.end for i in schedule) - now, expect)
        active = any(i.state == "active" for i in schedule)
        _wait(ctx, now + ctx.exp.guard_interval, active)


def _check_takeover(ctx: RunContext) -> None:
    """If the watchdog decided this process was dead (it was stopped or starved), it is
    reverting now: stop injecting and abort instead of fighting it."""
    for event in ctx.journal.tail():
        if isinstance(event, WatchdogRecovering):
            raise _abort(ctx, f"the watchdog took over: {event.reason}", [])


def _advance(
    ctx: RunContext,
    window: _Window,
    item: _Scheduled,
    now: float,
    hard_stop: float,
    reverts: RevertStack,
    restarts: list[_Restart],
) -> None:
    if item.state == "pending" and now >= item.start:
        _inject(ctx, window, item, reverts, restarts)
    if item.state == "active" and (now >= item.end or now >= hard_stop):
        if now >= hard_stop and now < item.end:
            ctx.journal.record(EventName.FAULT_MAX_DURATION, fault=item.fault.index)
        with deferred_signals():
            _close(ctx, item, reverts)


def _inject(
    ctx: RunContext,
    window: _Window,
    item: _Scheduled,
    reverts: RevertStack,
    restarts: list[_Restart],
) -> None:
    item.state = "active"
    fault = item.fault
    ctx.outcome.fault_windows.append(
        FaultWindow(fault.index, fault.spec.type, fault.replicas, time.time(), step=window.step)
    )
    for n, action in enumerate(actions_for(item.fault, ctx.env, window.scope)):
        fault_id = f"{window.scope}/f{item.fault.index}/{n}"
        ctx.journal.record(
            EventName.FAULT_APPLYING,
            fault_id=fault_id,
            action=action.to_json(),
            description=action.describe(),
        )
        reverts.push(item.fault.index, fault_id, action)  # before apply: fail safe
        applying = time.monotonic()  # the kill happens inside apply (an API call, an object)
        action.apply(ctx.env)
        ctx.journal.record(EventName.FAULT_APPLIED, fault_id=fault_id)
        restarts += [_Restart(killed, applying) for killed in killed_by(action)]
    if ctx.annotator is not None:
        ctx.annotator.fault_started(ctx.run_id, ctx.exp.name, ctx.outcome.fault_windows[-1].start)
    ctx.display.phase("inject", ", ".join(item.fault.replicas))


def _track_restarts(ctx: RunContext, restarts: list[_Restart]) -> None:
    """Measure process fault → a replacement running and ready, as the runtime restarts it."""
    for r in restarts:
        if r.back is not None:
            continue
        new = ctx.env.runtime.replacement(r.killed)
        if new is None or not ctx.env.runtime.ready(new):
            continue
        r.back = time.monotonic()
        stages = ctx.env.runtime.replacement_stages(r.killed)  # e.g. created/Running/Ready
        seconds = _restart_seconds(r, stages)
        measured: dict[str, Any] = {"killed": r.killed.name, "stages": stages} if stages else {}
        ctx.journal.record(
            EventName.REPLICA_BACK,
            replica=new.name,
            identity=new.identity,
            seconds=seconds,
            **measured,
        )
        figures = ctx.outcome.figures
        figures.restart_seconds = max(figures.restart_seconds or 0.0, seconds)


def _restart_seconds(r: _Restart, stages: dict[str, Any] | None) -> float:
    """Killed → replacement ready: the runtime's own figure when it measured one (from the
    kill itself: a pod's delete, not the end of the call that made it), else the engine's
    clock from just before the action was applied."""
    ready = (stages or {}).get("ready")
    if isinstance(ready, int | float) and not isinstance(ready, bool):
        return round(float(ready), 3)
    assert r.back is not None
    return round(r.back - r.at, 3)


def _await_restarts(ctx: RunContext, restarts: list[_Restart]) -> None:
    """A replica killed near the window's end may be ready only after it: keep measuring
    instance killed → replacement ready, up to the runtime's restart timeout."""
    deadline = time.monotonic() + ctx.env.restart_timeout
    while any(r.back is None for r in restarts) and time.monotonic() < deadline:
        time.sleep(ctx.exp.guard_interval)
        _track_restarts(ctx, restarts)


def _close(ctx: RunContext, item: _Scheduled, reverts: RevertStack) -> None:
    """End one fault's window; a failed revert stays on the stack for the final rollback."""
    item.state = "removed"
    reverts.unwind(group=item.fault.index)
    _end_window(ctx, item.fault.index, time.time())


def _end_window(ctx: RunContext, index: int | None, when: float) -> None:
    for window in ctx.outcome.fault_windows:
        if (index is None or window.fault == index) and window.end is None:
            window.end = when


def _roll_back(ctx: RunContext, schedule: list[_Scheduled], reverts: RevertStack) -> None:
    """Remove whatever is still applied, signals held; journal what was really removed."""
    with deferred_signals():
        started = time.time()
        for item in schedule:
            item.state = "removed"
        failed = reverts.roll_back(lambda line: ctx.display.phase("rollback", line))
        done = time.time()
        _end_window(ctx, None, done)
        figures = ctx.outcome.figures
        figures.rollback_started, figures.rollback_complete = started, done
        figures.rollback_seconds = round(done - started, 3)
        if failed:
            ctx.journal.record(
                EventName.ROLLBACK_INCOMPLETE,
                seconds=figures.rollback_seconds,
                still_open=[h.fault_id for h in failed],
            )
            raise RollbackFailed(
                f"could not remove {len(failed)} fault(s), which may still be in place: "
                + "; ".join(_still_open(h, reverts) for h in failed)
                + ". The watchdog keeps retrying; run `harness recover` to make sure"
            )
        ctx.journal.record(EventName.ROLLBACK_COMPLETE, seconds=figures.rollback_seconds)


def _still_open(handle: Handle, reverts: RevertStack) -> str:
    """A fault left in place, and why its last revert failed: what to check is there
    (a Chaos Mesh object held by its finalizer names the object, the pod's rules, the
    chaos-daemon)."""
    error = reverts.errors.get(handle.fault_id)
    return f"{handle.describe()} ({error})" if error else handle.describe()


def _wait(ctx: RunContext, until: float, active: bool) -> None:
    """Sleep until the next guard tick. While a fault is in force, a client guardrail
    (no scrape to wait for) is also evaluated whenever requests have come back since it
    last was, every CLIENT_POLL at most: a breach is acted on as it is seen, not up to
    a guard interval later."""
    load = ctx.load
    client = [p for p in ctx.exp.guardrails if isinstance(p, ClientProbe)]
    if not (active and client and load is not None):
        time.sleep(max(0.0, until - time.monotonic()))
        return
    seen = len(load.records)
    while (left := until - time.monotonic()) > 0:
        time.sleep(min(left, CLIENT_POLL))
        if len(load.records) != seen:
            seen = len(load.records)
            _breach(ctx, None, _guard(ctx, client), [])


def _observe(ctx: RunContext, remaining: float, expectations: bool) -> None:
    """Guardrails (breach or no data: abort; pending: wait) and the control plane every
    guard interval; expectations every tick, judged once their look-back lies inside
    the fault (`infault`)."""
    runtime = ctx.env.runtime
    if not runtime.control_plane_alive():  # what reverts the faults (a cluster's API server)
        raise _abort(
            ctx, f"the {runtime.kind} control plane stopped answering during the fault", []
        )
    try:
        if ctx.env.toxiproxy is not None:
            ctx.env.toxiproxy.version()
    except ToxiproxyError as exc:
        raise _abort(ctx, f"Toxiproxy unreachable during the fault: {exc}", []) from exc
    if not ctx.prom.ready():
        raise _abort(ctx, f"Prometheus at {ctx.prom.base_url} unreachable during the fault", [])
    guard = _guard(ctx, ctx.exp.guardrails)
    probes = ctx.exp.during_probes(ctx.evaluation) if expectations else ()
    during = [during_evaluation(ctx, p, _expect(ctx, p)) for p in probes]
    for evaluation in during:
        ctx.record_evaluation(evaluation)
    shown = [e.as_shown() for e in during]  # not judged yet: never shown as a "fail"
    if expectations:
        ctx.display.tick("fault", remaining, guard + shown)
    _breach(ctx, remaining, guard, shown)


def _expect(ctx: RunContext, probe: AnyProbe) -> ProbeResult:
    """Evaluate one `during` probe: a client expectation counts only the requests sent
    since the faults in force began, pending until one of them has come back or could
    have (its window plus the load's timeout: a request sent into a hang may take that)."""
    if not isinstance(probe, ClientProbe) or probe not in ctx.exp.expectations.during:
        return ctx.evaluate(probe)
    since = stretch_start(ctx.outcome.fault_windows, time.time(), ctx.exp.guard_interval)
    timeout = ctx.exp.load.timeout if ctx.exp.load is not None else 0.0
    return ctx.evaluate(probe, since, probe.window + timeout)


def _guard(ctx: RunContext, probes: Sequence[AnyProbe]) -> list[ProbeResult]:
    """Evaluate and record guardrails; a client one counts only the requests sent since
    the faults in force began, and is pending (not judged) until one has come back."""
    since = stretch_start(ctx.outcome.fault_windows, time.time(), ctx.exp.guard_interval)
    results = [ctx.evaluate(p, since) for p in probes]
    for r in results:
        pending = r.status == "pending"  # not judged: no evidence of the fault yet
        why = r.detail if pending else ""
        ctx.record_evaluation(ProbeEvaluation("guardrail", r, not pending, why))
    return results


def _breach(
    ctx: RunContext, remaining: float | None, guard: list[ProbeResult], shown: list[ProbeResult]
) -> None:
    """Abort when a guardrail failed or had no data (pending is neither)."""
    breached = [r for r in guard if not r.ok and r.status != "pending"]
    if not breached:
        return
    ctx.display.tick("fault", remaining, guard + shown)
    raise _abort(ctx, "guardrail breached: " + "; ".join(r.summary() for r in breached), breached)


def _abort(ctx: RunContext, reason: str, evidence: list[ProbeResult]) -> Aborted:
    """Record the abort decision at the moment it is taken (before rollback starts).
    Only a guardrail's (with its evidence) is a breach detected: a control plane gone
    dark or the watchdog taking over is no figure of the system under test."""
    now = time.time()
    first = min((w.start for w in ctx.outcome.fault_windows), default=now)
    ctx.outcome.abort = Abort(now, reason, tuple(evidence))
    if evidence:
        ctx.outcome.figures.detection_seconds = round(now - first, 3)
    ctx.journal.record(EventName.ABORT, reason=reason)
    if ctx.annotator is not None:
        ctx.annotator.aborted(ctx.run_id, ctx.exp.name, now, reason)
    return Aborted(reason, evidence)
