"""The schedule's loop: wait for the next slot, decide, run the suite, record the slot.

Waiting is a series of sleeps of at most a second, so SIGINT/SIGTERM end the loop
between runs within a second; a signal during a run is the run's own business (it
rolls back and ends "interrupted"), after which the loop stops. A slot is the cron time
the loop waited for; with `now` the first slot is the moment it starts; with `once` it
handles one slot — the cron time that has just passed (within `grace`, for an
external scheduler that starts it a little late) or else the next — and returns.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from harness.clients.prometheus import PrometheusClient
from harness.errors import InvalidInput, Issue
from harness.experiment.runner import RunResult, load_all
from harness.runtime.endpoints import endpoints_for
from harness.schedule.checks import Checks, skip_reason
from harness.schedule.history import (
    Entry,
    ExperimentRun,
    append,
    clear_inflight,
    write_inflight,
)
from harness.schedule.spec import ScheduleFile
from harness.schedule.window import latest_fire, next_fire
from harness.slo import load_slo_file
from harness.slo.spec import Slo
from harness.specs.experiment import Experiment
from harness.specs.topology import Topology, load_topology

__all__ = ["Clock", "Options", "Stop", "prepare", "run_schedule", "stop_on_signals"]

RunExperiment = Callable[[Path, Experiment], RunResult]
MAX_SLEEP = 1.0


@dataclass(frozen=True)
class Options:
    once: bool = False
    now: bool = False
    grace: float = 60.0  # `once`: a cron time this recent is the slot
    every: float | None = None  # tests: a slot every N seconds instead of the cron times


@dataclass
class Clock:
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Stop:
    """Set by SIGINT/SIGTERM while the loop waits or decides: stop before the next run."""

    signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None


@contextmanager
def stop_on_signals(stop: Stop) -> Iterator[Stop]:
    def note(signum: int, frame: FrameType | None) -> None:
        stop.signum = signum

    previous = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@dataclass(frozen=True)
class Setup:
    """What the loop reads once: the topology and the SLO the budget check needs."""

    spec: ScheduleFile
    source: Path
    topo: Topology
    slo: Slo | None = None

    @property
    def prometheus_url(self) -> str:
        return endpoints_for(self.topo).prometheus

    def checks(self, prom: PrometheusClient) -> Checks:
        runs, stack_run, scale = Path(self.spec.runs_dir), Path(self.spec.run_dir), self.topo.slo
        return Checks(prom, runs, stack_run, self.slo, scale.window_scale, scale.period)


def prepare(spec: ScheduleFile, source: Path) -> Setup:
    """Check what the file names before the first wait: experiments, topology, SLO."""
    load_all([Path(p) for p in spec.suite])
    topo = load_topology(Path(spec.stack))
    below = spec.skip_when.budget_below
    if below is None:
        return Setup(spec, source, topo)
    slos = {s.name: s for f in topo.slo.files for s in load_slo_file(Path(f)).slos}
    if below.slo not in slos:
        known = ", ".join(sorted(slos)) or "none"
        message = f"no SLO named {below.slo!r} in the stack's slo.files (known: {known})"
        raise InvalidInput([Issue(str(source), None, "skip_when.budget_below.slo", message)])
    return Setup(spec, source, topo, slos[below.slo])


def run_schedule(
    setup: Setup,
    run: RunExperiment,
    opts: Options,
    clock: Clock,
    stop: Stop,
    on_entry: Callable[[Entry], None] = lambda e: None,
) -> list[Entry]:
    """Handle slots until `once`, `max_runs`, a signal or an interrupted run ends it."""
    spec, done = setup.spec, []
    slot = _first_slot(spec, opts, clock.now())
    while _wait_until(slot, clock, stop):
        entry = _handle(setup, slot, run, stop, clock)
        append(Path(spec.runs_dir), entry)
        if entry.decision == "ran":  # recorded: it ended cleanly enough to say how
            clear_inflight(Path(spec.runs_dir))
        on_entry(entry)
        done.append(entry)
        if opts.once or len(done) == spec.max_runs or _interrupted(entry) or stop:
            break
        slot = _next_slot(spec, opts, max(slot, clock.now()))
    return done


def _first_slot(spec: ScheduleFile, opts: Options, now: datetime) -> datetime:
    if opts.now:
        return now
    if opts.once and opts.every is None:
        latest = latest_fire(spec.cron, spec.zone(), now)
        if now - latest <= timedelta(seconds=opts.grace):
            return latest
    return _next_slot(spec, opts, now)


def _next_slot(spec: ScheduleFile, opts: Options, after: datetime) -> datetime:
    if opts.every is not None:
        return after + timedelta(seconds=opts.every)
    return next_fire(spec.cron, spec.window(), after)


def _wait_until(slot: datetime, clock: Clock, stop: Stop) -> bool:
    """Sleep in bounded steps until `slot`; False when a signal came first."""
    while not stop:
        remaining = (slot - clock.now()).total_seconds()
        if remaining <= 0:
            return True
        clock.sleep(min(remaining, MAX_SLEEP))
    return False


def _handle(setup: Setup, slot: datetime, run: RunExperiment, stop: Stop, clock: Clock) -> Entry:
    spec = setup.spec
    local = slot.astimezone(spec.zone()).isoformat(timespec="seconds")
    base = Entry(local, time.time(), spec.name, "skipped")
    window = spec.window()
    if not window.allows(slot):
        return _with(base, reason=f"outside the allowed window ({window.describe()})")
    with PrometheusClient(setup.prometheus_url, timeout=5.0) as prom:
        reason = skip_reason(spec.skip_when, setup.checks(prom))
    if reason is not None:
        return _with(base, reason=reason)
    write_inflight(Path(spec.runs_dir), local)
    started = clock.now()
    entry = _run_suite(_with(base, decision="ran"), spec, run, stop)
    return _with(entry, seconds=round((clock.now() - started).total_seconds(), 1))


def _run_suite(entry: Entry, spec: ScheduleFile, run: RunExperiment, stop: Stop) -> Entry:
    try:
        loaded = load_all([Path(p) for p in spec.suite])
    except InvalidInput as exc:
        return _with(entry, exit_code=exc.exit_code, reason=f"invalid suite: {exc}")
    runs: list[ExperimentRun] = []
    for i, (path, exp) in enumerate(loaded):
        if stop:
            left = ", ".join(e.name for _p, e in loaded[i:])
            return _finish(entry, runs, f"stopped by signal {stop.signum} before: {left}")
        result = run(path, exp)
        runs.append(_record(result))
        if result.outcome.verdict == "interrupted":
            break
    return _finish(entry, runs, "")


def _record(r: RunResult) -> ExperimentRun:
    report = str(r.out_dir / "report.html")
    verdict = r.outcome.verdict or "error"
    return ExperimentRun(r.name, verdict, r.designed, r.outcome.exit_code, report)


def _finish(entry: Entry, runs: list[ExperimentRun], reason: str) -> Entry:
    code = max((r.exit_code for r in runs), default=0)
    return _with(entry, experiments=runs, exit_code=code, reason=reason)


def _interrupted(entry: Entry) -> bool:
    return any(e.verdict == "interrupted" for e in entry.experiments)


def _with(entry: Entry, **changes: Any) -> Entry:
    return replace(entry, **changes)
