"""The run's phases, in order, each a small function over the RunContext."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from harness.errors import StackError
from harness.experiment.context import RunContext
from harness.experiment.plan import plan_experiment
from harness.load.background import BackgroundLoad
from harness.probes.promql import ProbeResult, evaluate
from harness.probes.writes import acknowledged_writes_persisted
from harness.runtime.local.procs import ProcessRef
from harness.runtime.local.state import read_state
from harness.safety.lock import ActiveRun, refuse_if_unrecovered, write_active

__all__ = [
    "await_recovery",
    "await_steady_state",
    "check_writes",
    "describe_plan",
    "phase",
    "preflight",
    "start_load",
    "start_watchdog",
    "steady_state",
    "stop_load",
]

WATCHDOG_STALE = 5.0


@contextmanager
def phase(ctx: RunContext, name: str, detail: str = "") -> Iterator[None]:
    """Time a phase into the outcome and the journal."""
    entry = {"name": name, "start": time.time()}
    ctx.outcome.phases.append(entry)
    ctx.journal.record("phase.start", phase=name)
    ctx.display.phase(name, detail)
    try:
        yield
    finally:
        entry["end"] = time.time()
        ctx.journal.record("phase.end", phase=name)


def preflight(ctx: RunContext) -> None:
    """Stack reachable, no unrecovered journal, targets resolved within the blast radius."""
    state = read_state(ctx.stack_run.state_file)
    if state is None or state.phase != "ready" or not state.supervisor().alive():
        raise StackError(
            f"the stack is not running (no ready stack in {ctx.stack_run.root}): run `harness up`"
        )
    if not ctx.prom.ready():
        raise StackError(f"Prometheus at {ctx.prom.base_url} is not ready")
    ctx.env.toxiproxy.version()
    refuse_if_unrecovered(ctx.stack_run.root)
    live = [
        c.name for c in state.components if c.kind == "app" and (p := c.process()) and p.alive()
    ]
    ctx.plan = plan_experiment(ctx.exp, ctx.topo, live, ctx.seed, str(ctx.source))
    for fault in ctx.plan.faults:
        ctx.journal.record(
            "planned",
            fault=fault.index,
            type=fault.spec.type,
            replicas=list(fault.replicas),
            links=[lk.name for lk in fault.links],
        )


def describe_plan(ctx: RunContext) -> list[str]:
    """One line per planned fault: what it is, when, and the replicas and links it hits."""
    assert ctx.plan is not None
    lines = []
    for f in ctx.plan.faults:
        where = ", ".join(lk.name for lk in f.links) or "no proxy link"
        lines.append(
            f"fault {f.index}: {f.spec.type} at +{f.spec.start_after:g}s for "
            f"{f.spec.duration:g}s on {', '.join(f.replicas) or 'no replica'} (links: {where})"
        )
    return lines


def start_load(ctx: RunContext) -> None:
    if ctx.exp.load is None:
        return
    br = ctx.exp.blast_radius
    budget = ctx.exp.settle + br.max_duration + (ctx.exp.expectations.recovery_within or 30) + 120
    ctx.load = BackgroundLoad(ctx.topo.edge_url(), ctx.exp.load, budget, ctx.seed).start()
    time.sleep(ctx.exp.settle)  # let rate windows fill with this run's traffic


def stop_load(ctx: RunContext) -> None:
    if ctx.load is None:
        return
    ctx.load_result = ctx.load.stop()
    ctx.load = None
    if ctx.load_result is not None:
        ctx.outcome.load = ctx.load_result.summary()


def steady_state(ctx: RunContext, label: str) -> list[ProbeResult]:
    results = [evaluate(p, ctx.prom) for p in ctx.exp.steady_state]
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
    """Seconds from rollback until the steady state holds again (None: not within limit)."""
    limit = ctx.exp.expectations.recovery_within or 60.0
    start = time.monotonic()
    while time.monotonic() - start <= limit:
        tick = time.monotonic()
        results = steady_state(ctx, "recovery")
        if all(r.ok for r in results):
            return round(time.monotonic() - start, 3)
        time.sleep(max(0.0, tick + ctx.exp.tick - time.monotonic()))
    return None


def check_writes(ctx: RunContext) -> None:
    """Every write the load generator got a 2xx for is in the database; none is no data."""
    if not ctx.exp.expectations.acknowledged_writes_persisted:
        return
    if ctx.load_result is None:
        ctx.outcome.fail("deviated", "acknowledged_writes_persisted: no load ran, no data")
        return
    check = acknowledged_writes_persisted(ctx.topo, ctx.load_result)
    ctx.outcome.checks.append(check)
    ctx.journal.record("check", **check)
    if check["status"] == "error":
        ctx.outcome.fail("error", check["detail"])
    elif not check["ok"]:
        ctx.outcome.fail("deviated", check["detail"])


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
                sys.executable,
                "-m",
                "harness.safety.watchdog",
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
    wd = ProcessRef.of(proc.pid)
    write_active(
        ctx.stack_run.root, replace(pointer, watchdog_pid=wd.pid, watchdog_start_time=wd.start_time)
    )
    ctx.journal.record("watchdog.started", watchdog_pid=wd.pid)
    return proc
