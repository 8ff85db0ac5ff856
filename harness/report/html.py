"""A self-contained report.html: verdict, figures, timeline, evidence and plots."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from harness.clients.prometheus import PrometheusClient
from harness.load.generator import Record
from harness.outcome import FIGURES, Outcome, ProbeEvaluation
from harness.report.cases import cases_of
from harness.report.golden import ReportSignals, ServerView
from harness.report.plots import RATE, Chart, Frame, charts_for, probe_chart, user_charts
from harness.report.rampplot import ramp_charts
from harness.safety.events import (
    AbortEvent,
    Event,
    EventName,
    FaultApplying,
    FaultEvent,
    HandedOver,
    PhaseStart,
    Planned,
    RampBreakingPoint,
    RampStep,
    RampStepEnd,
    ReplicaBack,
    RollbackIncomplete,
    RunStarted,
    VerdictEvent,
)
from harness.secrets import redact
from harness.specs.experiment import Experiment
from harness.specs.topology import Topology
from harness.traces import TraceRow

__all__ = ["Provenance", "write_html"]

_FIGURES = [(key, f"{label} (s)") for key, label in FIGURES.items()]


@dataclass(frozen=True)
class Provenance:
    """What it takes to run it again: the file as run, the seed, where and with what."""

    experiment_text: str = ""
    source: str = ""
    seed: int | None = None
    harness_version: str = ""
    git_commit: str | None = None
    stack_file: str = ""
    topology: str = ""  # services and replicas, one line
    runtime: str = ""
    targets: tuple[str, ...] = ()  # each planned fault: type, replicas, links

    @classmethod
    def of(cls, start: RunStarted | None, events: Sequence[Event], **more: Any) -> Provenance:
        """From a journal: its header (None: a journal that lost it) and its `planned` events."""
        start = start or RunStarted(event=EventName.RUN_STARTED)
        runtime = start.runtime
        pods = isinstance(runtime, dict) and runtime.get("kind") == "kubernetes"
        targets = tuple(
            f"{_step_of(e)}fault {e.fault} ({e.type}): {_hit(e, pods)}"
            for e in events
            if isinstance(e, Planned)
        )
        return cls(
            source=start.source,
            seed=start.seed,
            harness_version=start.harness_version,
            git_commit=start.git_commit,
            runtime=", ".join(f"{k}={v}" for k, v in runtime.items())
            if isinstance(runtime, dict)
            else str(runtime or ""),
            targets=targets,
            **more,
        )


def write_html(
    path: Path,
    exp: Experiment,
    outcome: Outcome,
    events: Sequence[Event],
    prom: PrometheusClient,
    run_id: str,
    started: float,
    services: list[str],
    entry: str | None = None,
    *,
    end: float | None = None,
    records: Sequence[Record] = (),
    offset: float = 0.0,
    provenance: Provenance | None = None,
    traces: Sequence[TraceRow] = (),
    topo: Topology | None = None,
) -> None:
    """`entry`: the service the load enters through (whole-service charts and the
    server-side view; None: the service behind the topology's first edge proxy).
    `records` and `offset` (monotonic to wall clock): the load's requests, for the
    users' plots; `end`: the run's end (default now). `topo`: what each service declares
    of its golden signals (harness.report.golden); None: no Prometheus charts of services."""
    end = time.time() if end is None else end
    abort_at = outcome.abort.time if outcome.abort else None
    frame = Frame(started, end, tuple(outcome.phases), tuple(outcome.fault_windows), abort_at)
    signals = ReportSignals.of(topo, entry) if topo is not None else None
    charts: list[Chart] = []
    absent: list[str] = []
    if outcome.probes:  # a run refused or failed in preflight measured nothing to plot
        charts = user_charts(records, offset, frame) + ramp_charts(outcome)
        if signals is not None:
            specs, absent = signals.charts(services, RATE)
            charts += charts_for(prom, frame, specs, lambda s: signals.why_empty(prom, s, end))
        charts += _probe_charts(outcome, frame)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(
        resources.files("harness.report").joinpath("template.html").read_text()
    )
    html = template.render(
        entry=signals.entry if signals is not None else entry,
        exp=exp,
        outcome=outcome,
        run_id=run_id,
        seconds=end - started,
        started=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)),
        start_epoch=started,
        figures=_figure_rows(outcome),
        server=_server_view(signals, prom, started, end),
        absent=absent,
        timeline=_timeline(events, started),
        cases=cases_of(outcome, exp.name),
        charts=charts,
        provenance=provenance or Provenance(),
        traces=traces,
        fmt=_fmt,
        fmt_count=_fmt_count,
        fmt_ms=_fmt_ms,
        secs=_secs,
    )
    path.write_text(redact(html), encoding="utf-8")  # no secret, whatever the run passed in


def _hit(e: Planned, pods: bool) -> str:
    """What a planned fault hits: in a cluster its pods (faults act on them: no proxy
    link), else its replicas and links."""
    if pods:
        return f"pod{'s' * (len(e.replicas) != 1)} {', '.join(e.replicas) or '—'}"
    return f"replicas {', '.join(e.replicas) or '—'}; links {', '.join(e.links) or '—'}"


def _step_of(event: Planned) -> str:
    """"step 2, " for a ramp step's planned fault; "" otherwise."""
    return f"step {event.step}, " if event.step else ""


def _figure_rows(outcome: Outcome) -> list[tuple[str, float | str]]:
    """(label, value) for each figure measured; "—" for one measured as never reached."""
    measured = outcome.figures.measured()
    rows: list[tuple[str, float | str]] = []
    for key, label in _FIGURES:
        if key in measured:
            value = measured[key]
            rows.append((label, "—" if value is None else value))
    return rows


def _probe_charts(outcome: Outcome, frame: Frame) -> list[Chart]:
    by_name: dict[str, list[ProbeEvaluation]] = defaultdict(list)
    for p in outcome.probes:
        by_name[p.result.name].append(p)
    return [probe_chart(name, evals, frame) for name, evals in by_name.items()]


def _server_view(
    signals: ReportSignals | None, prom: PrometheusClient, start: float, end: float
) -> ServerView | None:
    return None if signals is None else signals.server_view(prom, start, end)


_SHOWN = {  # the events the timeline lists
    EventName.PHASE_START,
    EventName.FAULT_APPLIED,
    EventName.FAULT_REMOVED,
    EventName.REPLICA_BACK,
    EventName.ABORT,
    EventName.FAULT_MAX_DURATION,
    EventName.ROLLBACK_COMPLETE,
    EventName.ROLLBACK_INCOMPLETE,
    EventName.ROLLBACK_HANDED_OVER,
    EventName.VERDICT,
    EventName.WATCHDOG_STARTED,
    EventName.PLANNED,
    EventName.FAULT_REVERT_FAILED,
    EventName.RAMP_STEP,
    EventName.RAMP_STEP_END,
    EventName.RAMP_BREAKING_POINT,
}


def _timeline(events: Sequence[Event], started: float) -> list[tuple[str, str, str]]:
    descriptions = {e.fault_id: e.description for e in events if isinstance(e, FaultApplying)}
    rows = []
    for e in events:
        if e.event not in _SHOWN:
            continue
        rows.append(
            (
                time.strftime("%H:%M:%S", time.gmtime(e.time)) + f".{int(e.time % 1 * 1000):03d}",
                f"{e.time - started:.2f}",
                _row_text(e, descriptions),
            )
        )
    return rows


def _row_text(e: Event, descriptions: dict[str, str]) -> str:
    """What the timeline says of one event."""
    match e:
        case PhaseStart():
            return f"phase: {e.phase}"
        case FaultEvent():
            return f"{e.event}: {descriptions.get(e.fault_id, e.fault_id)}"
        case AbortEvent():
            return f"ABORT: {e.reason}"
        case Planned():
            text = f"planned fault {e.fault} ({e.type}) on {', '.join(e.replicas)}"
            return f"step {e.step}: {text}" if e.step else text
        case ReplicaBack():
            return _replacement(e)
        case RollbackIncomplete():
            return f"ROLLBACK INCOMPLETE: still open {', '.join(e.still_open)}"
        case HandedOver():
            return f"rollback handed to the watchdog: {e.reason}"
        case RampStep():
            return f"ramp step {e.step}: {e.description}"
        case RampStepEnd():
            return f"ramp step {e.step}: {e.status}"
        case RampBreakingPoint():
            return f"breaking point: {e.summary}"
        case VerdictEvent():
            return f"verdict: {e.verdict} (exit {e.exit_code})"
    return e.event


def _replacement(e: ReplicaBack) -> str:
    """The killed instance's replacement, and what the runtime measured of it: on
    Kubernetes a new pod under a new name, created, Running and Ready so long after the
    delete."""
    stages = e.stages or {}
    steps = [(k, stages.get(k)) for k in ("created", "running", "ready")]
    measured = [f"{k} {v:g} s" for k, v in steps if isinstance(v, int | float)]
    if e.killed is None or e.killed == e.replica:
        text = f"replacement {e.replica} ready"
    else:
        text = f"replacement of {e.killed}: {e.replica} ready"
    after = f"{', '.join(measured)} after the kill" if measured else f"{e.seconds:g} s after"
    return f"{text} ({after})" if measured else f"{text} {after} the kill"


def _fmt(value: float | None) -> str:
    return "no data" if value is None else f"{value:.4g}"


def _fmt_count(value: float | None) -> str:
    """A count of requests Prometheus extrapolated (`increase()`, rate × seconds): a
    whole number, and marked as the estimate it is ("≈ 207", never "207.1")."""
    return "no data" if value is None else f"≈ {value:.0f}"


def _fmt_ms(value: float | None) -> str:
    return "no data" if value is None else f"{value * 1000:.1f} ms"


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"
