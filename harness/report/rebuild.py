"""Rebuild a run's report from its journal alone: `harness report RUN_DIR`.

The journal holds everything a report shows — the header, every probe evaluation, the
phases and fault windows, the verdict's figures, alerts and budget — so a report lost
or never written (the harness was killed) can be made again. A journal without a
verdict makes a report that says so: "no verdict", never a guessed one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from harness.alerts.floor import Floor
from harness.alerts.proof import AlertProof
from harness.clients.prometheus import PrometheusClient
from harness.errors import InvalidInput, Issue
from harness.outcome import (
    Abort,
    FaultWindow,
    Figures,
    LoadSummary,
    Outcome,
    PhaseSpan,
    ProbeEvaluation,
    RampOutcome,
    StepResult,
    Verdict,
)
from harness.probes.checks.common import CheckResult
from harness.probes.promql import ProbeResult, Status
from harness.report.html import Provenance, write_html
from harness.safety.events import (
    Event,
    PhaseEnd,
    PhaseStart,
    Planned,
    Probe,
    RunStarted,
    VerdictEvent,
)
from harness.safety.journal import read_records
from harness.slo.budget import BudgetBurn
from harness.specs.experiment import load_experiment
from harness.specs.topology import Topology

__all__ = ["outcome_from_events", "rebuild", "services_hurt"]

def rebuild(run_dir: Path, topo: Topology, prom: PrometheusClient) -> Path:
    """Write `run_dir/report.html` again from `run_dir/journal.jsonl`."""
    journal = run_dir / "journal.jsonl"
    if not journal.is_file():
        raise InvalidInput([Issue(str(run_dir), None, "", "no journal.jsonl: not a run directory")])
    events = read_records(journal)
    header = events[0] if events else None
    if not isinstance(header, RunStarted):
        raise InvalidInput([Issue(str(journal), 1, "", "does not start with run.started")])
    copy = run_dir / "experiment.yaml"
    source = copy if copy.is_file() else Path(header.source)
    try:
        exp = load_experiment(source)
    except InvalidInput as exc:
        raise InvalidInput(
            [Issue(str(source), None, "", f"the experiment as run cannot be read: {exc}")]
        ) from None
    outcome = outcome_from_events(events)
    finished = next((e.time for e in reversed(events) if isinstance(e, VerdictEvent)), None)
    end = finished if finished is not None else events[-1].time
    started = header.started if header.started is not None else header.time
    services = services_hurt(events)
    provenance = Provenance.of(
        header,
        events,
        experiment_text=source.read_text() if source.is_file() else "",
        stack_file=header.stack_file,
    )
    path = run_dir / "report.html"
    write_html(
        path,
        exp,
        outcome,
        events,
        prom,
        header.run_id or run_dir.name,
        started,
        services,
        topo.entry_service(),
        end=end,
        provenance=provenance,
        topo=topo,
    )
    return path


def services_hurt(events: list[Event]) -> list[str]:
    """The services the planned faults hurt, as journaled with them; a journal from
    before they were names only replicas, `<service>-<index>` then."""
    return sorted(
        {
            service
            for e in events
            if isinstance(e, Planned)
            for service in (e.services or [r.rsplit("-", 1)[0] for r in e.replicas])
        }
    )


def outcome_from_events(events: list[Event]) -> Outcome:
    """The outcome a journal records; its verdict stays None when none was written."""
    outcome = Outcome()
    outcome.probes = [_evaluation(e) for e in events if isinstance(e, Probe)]
    verdict = next((e for e in reversed(events) if isinstance(e, VerdictEvent)), None)
    if verdict is None:
        outcome.reasons.append(
            "no verdict: the journal ends before the run did (the harness was killed?); "
            "see the timeline and `harness recover`"
        )
        outcome.phases = _phases(events)
        return outcome
    outcome.verdict = cast(Verdict | None, verdict.verdict)  # as the run wrote it
    outcome.reasons = list(verdict.reasons)
    figures = dict(verdict.figures)
    awaited = "recovery_seconds" in figures
    outcome.figures = Figures(**figures, recovery_awaited=awaited)
    if verdict.load:
        outcome.load = LoadSummary.from_json(verdict.load)
    outcome.checks = [_check(c) for c in verdict.checks]
    outcome.alerts = [_alert(a) for a in verdict.alerts]
    outcome.budget = [BudgetBurn(**b) for b in verdict.budget]
    if verdict.abort:
        a = verdict.abort
        evidence = tuple(ProbeResult(**r) for r in a.get("evidence", []))
        outcome.abort = Abort(a["time"], a["reason"], evidence)
    outcome.phases = [PhaseSpan(**p) for p in verdict.phases]
    outcome.fault_windows = [
        FaultWindow(**{**w, "targets": tuple(w["targets"])}) for w in verdict.fault_windows
    ]
    outcome.plan = list(verdict.plan)
    if verdict.ramp:
        outcome.ramp = _ramp(verdict.ramp)
    return outcome


def _evaluation(e: Probe) -> ProbeEvaluation:
    """One journaled probe evaluation as the run recorded it."""
    result = ProbeResult(
        e.name,
        e.query,
        e.op,
        e.threshold,
        e.value,
        e.time,
        cast(Status, e.status),  # as the run wrote it
        e.detail,
    )
    return ProbeEvaluation(e.phase, result, e.judged, e.why, e.settle, e.basis)


def _check(data: dict[str, Any]) -> CheckResult:
    """A check as the verdict carries it: `ok` is derived from its status, not given."""
    fields = {k: v for k, v in data.items() if k != "ok"}
    return CheckResult(**{**fields, "missing": tuple(fields.get("missing", ()))})


def _phases(events: list[Event]) -> list[PhaseSpan]:
    spans: list[PhaseSpan] = []
    for e in events:
        if isinstance(e, PhaseStart):
            spans.append(PhaseSpan(e.phase, e.time))
        elif isinstance(e, PhaseEnd) and spans and spans[-1].name == e.phase:
            spans[-1].end = e.time
    return spans


def _ramp(data: dict[str, Any]) -> RampOutcome:
    steps = [
        StepResult(
            **{
                **s,
                "replicas": tuple(s["replicas"]),
                "slos": [BudgetBurn(**b) for b in s["slos"]],
            }
        )
        for s in data["steps"]
    ]
    return RampOutcome(
        steps,
        data["must_hold"],
        data.get("limit", ""),
        data.get("breaking_point"),
        data.get("seconds_to_break"),
    )


def _alert(data: dict[str, Any]) -> AlertProof:
    floor = None
    if data.get("floor") is not None:
        floor = Floor(data.get("floor_fire"), data.get("floor_notify"), (), data["floor"])
    proof = AlertProof(
        alert=data["alert"],
        labels=dict(data.get("labels", {})),
        query=data.get("query", ""),
        receiver_url=data.get("receiver_url", ""),
        fault_start=data["fault_start"],
        rollback=None,
        floor=floor,
        share=data.get("share", 1.0),
        share_source=data.get("share_source", ""),
    )
    proof.fired_at, proof.notified_at = data.get("fired_at"), data.get("notified_at")
    proof.notified_receiver = data.get("notified_receiver")
    proof.resolved_at = data.get("resolved_at")
    proof.resolve_notified_at = data.get("resolve_notified_at")
    proof.fired_labels = dict(data.get("fired_labels", {}))
    proof.problems = list(data.get("problems", []))
    if data.get("time_to_resolve") is not None and proof.resolved_at is not None:
        proof.rollback = proof.resolved_at - data["time_to_resolve"]
    return proof
