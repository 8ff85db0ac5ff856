"""The one typed context a run's phases share; the outcome they build is in `outcome`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.clients.prometheus import PrometheusClient
from harness.dashboards.annotations import Annotator
from harness.experiment.plan import Plan, StepPlan
from harness.faults import FaultEnv
from harness.load.background import BackgroundLoad
from harness.load.generator import LoadResult, monotonic_offset
from harness.outcome import EXIT_CODES, SEVERITY, Outcome, ProbeEvaluation, Verdict
from harness.probes.client import Scope, evaluate_client
from harness.probes.kubernetes import KubernetesProbes, client_of
from harness.probes.promql import ProbeResult, evaluate
from harness.rundir import RunDir
from harness.safety.events import EventName
from harness.safety.journal import Journal
from harness.specs.durations import parse_duration
from harness.specs.experiment import AnyProbe, ClientProbe, Experiment, KubernetesProbe
from harness.specs.topology import Topology

__all__ = ["Display", "EXIT_CODES", "SEVERITY", "Outcome", "RunContext", "Verdict"]


class Display(Protocol):
    """Where a run reports progress: a live terminal view or plain lines."""

    def phase(self, name: str, detail: str = "") -> None: ...

    def tick(self, phase: str, remaining: float | None, results: list[ProbeResult]) -> None: ...


@dataclass
class RunContext:
    exp: Experiment
    source: Path
    topo: Topology
    stack_file: Path
    stack_run: RunDir
    out_dir: Path
    run_id: str
    journal: Journal
    prom: PrometheusClient
    env: FaultEnv
    display: Display
    seed: int
    dry_run: bool = False
    plan: Plan | None = None  # a ramp's: the step running (the first before any runs)
    steps: list[StepPlan] = field(default_factory=list)  # a ramp's steps, as planned
    load: BackgroundLoad | None = None
    load_result: LoadResult | None = None
    outcome: Outcome = field(default_factory=Outcome)
    started: float = field(default_factory=time.time)
    annotator: Annotator | None = None  # Grafana annotations, when GRAFANA_URL is set
    kubernetes: KubernetesProbes = field(default_factory=KubernetesProbes)  # their readings

    @property
    def evaluation(self) -> float:
        """The stack's rule evaluation interval (its scrape interval), in seconds."""
        return parse_duration(self.topo.prometheus.scrape_interval)

    def evaluate(
        self, probe: AnyProbe, since: float | None = None, patience: float | None = None
    ) -> ProbeResult:
        """A PromQL probe against Prometheus; a client probe against the live load; a
        Kubernetes probe through the runtime's client (none: an error, never a pass).

        `since` (wall clock): the start of the faults in force; a client probe then counts
        only the requests sent from then on, and is pending for `patience` seconds (its
        window by default) until one of them has come back (`harness.probes.client`)."""
        if isinstance(probe, ClientProbe):
            records = self.load.recent(probe.window) if self.load else []
            start = None if since is None else since - monotonic_offset()
            return evaluate_client(probe, records, Scope(self.faulted(), start, None, patience))
        if isinstance(probe, KubernetesProbe):
            return self.kubernetes.evaluate(probe, client_of(self.env.runtime))
        return evaluate(probe, self.prom)

    def faulted(self) -> frozenset[str]:
        """The replicas the faults in force hit; with none in force, those the plan's
        faults hit (before them, after them, between a ramp's steps)."""
        open_windows = [w for w in self.outcome.fault_windows if w.end is None]
        if open_windows:
            return frozenset(r for w in open_windows for r in w.targets)
        return frozenset(self.plan.replicas) if self.plan is not None else frozenset()

    def record_probe(self, phase: str, result: ProbeResult) -> None:
        self.record_evaluation(ProbeEvaluation(phase, result))

    def record_evaluation(self, evaluation: ProbeEvaluation) -> None:
        self.outcome.probes.append(evaluation)
        result, marks = evaluation.result, evaluation.marks()
        # probe results are many and lose nothing on a crash: no fsync for each
        self.journal.record(
            EventName.PROBE, durable=False, phase=evaluation.phase, **result.to_json(), **marks
        )
