"""The run's phases, in order, each a small function over the RunContext."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path

from harness.errors import StackError
from harness.experiment.alerting import refuse_unknown_alerts
from harness.experiment.context import RunContext
from harness.experiment.faultsupport import refuse_unsupported_faults
from harness.experiment.plan import Live, Plan, describe_fault, plan_experiment, plan_ramp
from harness.experiment.probesupport import refuse_unreadable_probes
from harness.experiment.secretrefs import refuse_unresolved_secrets
from harness.experiment.serving import serving_replicas
from harness.experiment.stepslos import refuse_unknown_slos
from harness.load.background import BackgroundLoad
from harness.load.generator import monotonic_offset
from harness.outcome import LoadSummary, PhaseSpan, RampOutcome, StepResult
from harness.probes.checks import run_check
from harness.probes.promql import ProbeResult
from harness.procs import ProcessRef
from harness.runtime.base import Runtime
from harness.safety.events import EventName, WatchdogWatching
from harness.safety.lock import ActiveRun, clear_active, refuse_if_unrecovered, write_active
from harness.slo import load_slo_file
from harness.slo.budget import budget_burnt
from harness.specs.experiment import Experiment

__all__ = [
    "await_recovery",
    "await_steady_state",
    "describe_plan",
    "load_budget",
    "measure_budget",
    "phase",
    "plan_steps",
    "preflight",
    "run_checks",
    "start_load",
    "start_watchdog",
    "steady_state",
    "stop_load",
]

WATCHDOG_STALE = 5.0
FIRST_SUCCESS_GRACE = 5.0  # seconds past the steady state's return to wait for a success
WATCHDOG_COMMAND = (sys.executable, "-m", "harness.safety.watchdog")
WATCHDOG_START = 15.0  # seconds for the watchdog process to start and say it watches


@contextmanager
def phase(ctx: RunContext, name: str, detail: str = "") -> Iterator[None]:
    """Time a phase into the outcome and the journal."""
    span = PhaseSpan(name, time.time())
    ctx.outcome.phases.append(span)
    ctx.journal.record(EventName.PHASE_START, phase=name)
    ctx.display.phase(name, detail)
    try:
        yield
    finally:
        span.end = time.time()
        ctx.journal.record(EventName.PHASE_END, phase=name)


def preflight(ctx: RunContext) -> None:
    """Stack reachable, no unrecovered journal, every fault one the runtime can inject
    (every probe one it can read), targets resolved within the blast radius of the replicas serving now."""
    runtime = ctx.env.runtime
    if not runtime.control_plane_alive():
        raise _not_running(runtime, ctx.stack_run.root)
    if not ctx.prom.ready():
        raise StackError(f"Prometheus at {ctx.prom.base_url} is not ready")
    if ctx.env.toxiproxy is not None:
        ctx.env.toxiproxy.version()
    refuse_if_unrecovered(ctx.stack_run.root)
    refuse_unresolved_secrets(ctx.exp, ctx.source)
    refuse_unsupported_faults(ctx.exp, runtime, ctx.source)
    refuse_unreadable_probes(ctx.exp, runtime, ctx.source)
    live = serving_replicas(runtime, ctx.topo)
    if ctx.exp.ramp is not None:
        plan_steps(ctx, live)
    else:
        ctx.plan = plan_experiment(ctx.exp, ctx.topo, live, ctx.seed, str(ctx.source))
    refuse_unknown_alerts(ctx)
    for step, plan in _plans(ctx):
        for fault in plan.faults:
            ctx.journal.record(
                EventName.PLANNED,
                fault=fault.index,
                type=fault.spec.type,
                replicas=list(fault.replicas),
                services=[plan.service_of[r] for r in fault.replicas],
                links=[lk.name for lk in fault.links],
                step=step,
            )


def _not_running(runtime: Runtime, root: Path) -> StackError:
    """What to do when the control plane does not answer: a local stack is started with
    `harness up`; a cluster is not the harness's to start, only to reach."""
    if runtime.kind == "local":
        return StackError(
            f"the stack is not running (no ready local stack for {root}): run `harness up`"
        )
    where = runtime.describe().get("stack_file", "the topology")
    return StackError(
        f"the stack is not running: the {runtime.kind} control plane does not answer; check "
        f"that it is up and reachable as {where} names it"
    )


def _plans(ctx: RunContext) -> list[tuple[int | None, Plan]]:
    """(ramp step or None, its plan): the one plan, or each planned step's."""
    if ctx.steps:
        return [(s.step, s.plan) for s in ctx.steps]
    assert ctx.plan is not None
    return [(None, ctx.plan)]


def plan_steps(ctx: RunContext, live: Live) -> None:
    """A ramp: every step planned (up to the first the blast radius refuses), its SLOs
    known, and a result per step waiting to be filled in."""
    ramp = ctx.exp.ramp
    assert ramp is not None
    ctx.steps, limit = plan_ramp(ctx.exp, ctx.topo, live, ctx.seed, str(ctx.source))
    ctx.plan = ctx.steps[0].plan
    refuse_unknown_slos(ctx)
    results = [StepResult(s.step, s.description, tuple(sorted(s.plan.replicas))) for s in ctx.steps]
    results += [
        StepResult(i + 1, ramp.steps[i].describe(ctx.exp.ramp_service))
        for i in range(len(ctx.steps), len(ramp.steps))
    ]
    ctx.outcome.ramp = RampOutcome(results, ramp.must_hold, limit)


def describe_plan(ctx: RunContext) -> list[str]:
    """One line per planned fault: what it is, when, and the replicas and links it hits
    (for a ramp, per step)."""
    lines = []
    for step, plan in _plans(ctx):
        if step is not None:
            lines.append(f"ramp step {step}: {ctx.steps[step - 1].description}")
        for f in plan.faults:
            lines.append(f"{'  ' if step else ''}fault {f.index}: {describe_fault(f, ctx.topo)}")
    if ctx.outcome.ramp is not None and ctx.outcome.ramp.limit:
        lines.append(f"ramp: {ctx.outcome.ramp.limit}")
    if ctx.exp.load is not None and ctx.plan is not None and ctx.plan.load is not None:
        lines.append(f"load: {ctx.plan.load.describe(ctx.exp.load.rate)}")
    return lines


def start_load(ctx: RunContext) -> None:
    """Start the load on the targets the planner resolved (`Plan.load`), and journal them."""
    if ctx.exp.load is None:
        return
    assert ctx.plan is not None and ctx.plan.load is not None, "plan before the load"
    budget = load_budget(ctx.exp, max(1, len(ctx.steps)))
    targets = ctx.plan.load.targets
    ctx.journal.record(
        EventName.LOAD_STARTED,
        rate=ctx.exp.load.rate,
        budget_seconds=budget,
        targets=[{"target": t.name, "url": t.url} for t in targets],
    )
    ctx.load = BackgroundLoad(
        targets, ctx.exp.load, budget, ctx.seed, secrets_dir=ctx.source.parent
    ).start()
    time.sleep(ctx.exp.settle)  # let rate windows fill with this run's traffic


def load_budget(exp: Experiment, windows: int) -> float:
    """Seconds the load may run at most: the settle time, the wait for steady state,
    each fault window (one, or one per ramp step) with its recovery, and slack for the
    checks after them (alerts, steady state after). The run stops it sooner."""
    per_window = exp.blast_radius.max_duration + exp.expectations.recovery_limit
    return exp.settle + exp.steady_wait + windows * per_window + 120


def stop_load(ctx: RunContext) -> None:
    if ctx.load is None:
        return
    ctx.load_result = ctx.load.stop()
    ctx.load = None
    if ctx.load_result is not None:
        ctx.outcome.load = summary = LoadSummary.of(ctx.load_result)
        ctx.journal.record(
            EventName.LOAD_STOPPED,
            requests=summary.requests,
            errors=summary.errors,
            targets=[
                {"target": t.target, "requests": t.requests, "errors": t.errors}
                for t in summary.targets
            ],
        )


def steady_state(ctx: RunContext, label: str) -> list[ProbeResult]:
    results = [ctx.evaluate(p) for p in ctx.exp.steady_probes(label, ctx.evaluation)]
    for r in results:
        ctx.record_probe(label, r)
    ctx.display.tick(label, None, results)
    return results


def await_steady_state(ctx: RunContext, label: str = "before") -> list[ProbeResult]:
    """Poll the steady state each tick until it holds or `steady_wait` runs out.

    A freshly started stack may not have two scrapes in a rate window yet; that is
    "no data", which never passes, so we give the data a bounded time to arrive.
    """
    deadline = time.monotonic() + ctx.exp.steady_wait
    while True:
        tick = time.monotonic()
        results = steady_state(ctx, label)
        if all(r.ok for r in results) or tick >= deadline:
            return results
        time.sleep(max(0.0, tick + ctx.exp.tick - time.monotonic()))


def await_recovery(ctx: RunContext) -> float | None:
    """Seconds from the rollback's end until the probes confirm the steady state (None:
    not within the limit), polled each tick; and beside it what the users saw: the
    first request sent after the rollback that succeeded (`first_success_seconds`).

    The probes confirm late by design (a 10 s rate window holds the fault for 10 s after
    it ended); the users' first success says when the system answered again."""
    limit = ctx.exp.expectations.recovery_limit
    rolled_back = ctx.outcome.figures.rollback_complete or time.time()
    seconds = None
    while True:
        tick = time.monotonic()
        if all(r.ok for r in steady_state(ctx, "recovery")):
            seconds = round(time.time() - rolled_back, 3)
            break
        if time.time() - rolled_back >= limit:
            break
        time.sleep(max(0.0, tick + ctx.exp.tick - time.monotonic()))
    until = min(rolled_back + limit, time.time() + FIRST_SUCCESS_GRACE)
    ctx.outcome.figures.first_success_seconds = _first_success(ctx, rolled_back, until)
    return seconds


def _first_success(ctx: RunContext, rolled_back: float, until: float) -> float | None:
    """Seconds from `rolled_back` (wall clock) to the answer of the first request sent
    since then that succeeded, waiting for it until `until` (None: no load, or no
    success by then): a figure, which never holds the run up for long."""
    if ctx.load is None:
        return None
    since = rolled_back - monotonic_offset()
    while True:
        records = list(ctx.load.records)  # appended by the load's thread meanwhile
        done = [r.scheduled + r.latency for r in records if r.ok and r.scheduled >= since]
        if done:
            return round(min(done) - since, 3)
        if time.time() >= until:
            return None
        time.sleep(ctx.exp.guard_interval)


def measure_budget(ctx: RunContext) -> None:
    """How much of each of the stack's SLOs' error budget the run burnt, from its start
    to now: a figure for the report, never part of the verdict."""
    for path in ctx.topo.slo.files:
        spec = load_slo_file(path)
        period = ctx.topo.slo.period_seconds
        ctx.outcome.budget += budget_burnt(spec, ctx.prom, ctx.started, time.time(), period)


def run_checks(ctx: RunContext) -> None:
    """Every declared check, after the load stopped, on what its users were acknowledged.

    A miss deviates; no data deviates too (nothing was proven); an error is "error".
    HTTP checks read back from the load's entry (its service's replica 1 edge, even when
    the load is spread, or its URL) unless they name their own.
    """
    records = ctx.load_result.records if ctx.load_result is not None else []
    load = ctx.plan.load if ctx.plan is not None else None
    base_url = load.entry if load is not None else ""
    for check in ctx.exp.expectations.checks:
        result = run_check(
            check, records, base_url=base_url, topo=ctx.topo, secrets_dir=ctx.source.parent
        )
        ctx.outcome.checks.append(result)
        ctx.journal.record(EventName.CHECK, **asdict(result))
        if result.status == "error":
            ctx.outcome.fail("error", f"check {result.name}: {result.detail}")
        elif result.status == "no data":
            ctx.outcome.fail("deviated", f"check {result.name}: no data: {result.detail}")
        elif not result.ok:
            ctx.outcome.fail("deviated", f"check {result.name}: {result.detail}")


def start_watchdog(ctx: RunContext, heartbeat: Path) -> subprocess.Popen[bytes]:
    """Point the stack at this run's journal, then start the dead-man's switch.

    The pointer is written first: a watchdog that started before it would find no run
    to watch and exit, leaving the run unguarded.
    """
    me = ProcessRef.of(os.getpid())
    pointer = ActiveRun(str(ctx.journal.path), me.pid, me.start_time, str(heartbeat))
    write_active(ctx.stack_run.root, pointer)
    log = (ctx.out_dir / "watchdog.log").open("ab")
    with log:
        proc = subprocess.Popen(
            [
                *WATCHDOG_COMMAND,
                "--stack",
                str(ctx.stack_file),
                "--run-dir",
                str(ctx.stack_run.root),
                "--stale",
                str(WATCHDOG_STALE),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives a kill of the harness's process group
        )
    _await_watching(ctx, proc)
    wd = ProcessRef.of(proc.pid)
    write_active(
        ctx.stack_run.root, replace(pointer, watchdog_pid=wd.pid, watchdog_start_time=wd.start_time)
    )
    ctx.journal.record(EventName.WATCHDOG_STARTED, watchdog_pid=wd.pid)
    return proc


def _await_watching(ctx: RunContext, proc: subprocess.Popen[bytes]) -> None:
    """Inject nothing until the watchdog says it watches: one that died at start (a
    broken install, a bad interpreter) would leave the run unguarded."""
    deadline = time.monotonic() + WATCHDOG_START
    while time.monotonic() < deadline:
        if any(isinstance(e, WatchdogWatching) for e in ctx.journal.tail()):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    log = ctx.out_dir / "watchdog.log"
    if proc.poll() is None:
        proc.kill()
    clear_active(ctx.stack_run.root)  # nothing was injected: no run to point at
    raise StackError(
        f"the watchdog did not start watching (exit {proc.wait()}): see {log}; nothing was injected"
    )
