"""The one typed context a run's phases share, and the outcome they build."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from harness.clients.prometheus import PrometheusClient
from harness.experiment.plan import Plan
from harness.faults import FaultEnv
from harness.load.background import BackgroundLoad
from harness.load.generator import LoadResult
from harness.probes.client import evaluate_client
from harness.probes.promql import ProbeResult, evaluate
from harness.runtime.local.layout import RunDir
from harness.safety.journal import Journal
from harness.specs.experiment import AnyProbe, ClientProbe, Experiment
from harness.specs.topology import Topology

__all__ = ["Display", "EXIT_CODES", "SEVERITY", "Outcome", "RunContext", "Verdict"]

Verdict = Literal[
    "held", "dry run", "deviated", "not steady", "aborted", "refused", "interrupted", "error"
]

EXIT_CODES: dict[str, int] = {
    "held": 0,
    "dry run": 0,
    "deviated": 1,
    "not steady": 1,
    "aborted": 2,
    "refused": 3,
    "interrupted": 4,
    "error": 4,
}
# the most severe verdict wins when several phases disagree
SEVERITY: tuple[Verdict, ...] = (
    "held",
    "dry run",
    "deviated",
    "not steady",
    "aborted",
    "refused",
    "interrupted",
    "error",
)


class Display(Protocol):
    """Where a run reports progress: a live terminal view or plain lines."""

    def phase(self, name: str, detail: str = "") -> None: ...

    def tick(self, phase: str, remaining: float | None, results: list[ProbeResult]) -> None: ...


@dataclass
class Outcome:
    """What a run found. The verdict is None until one is reached: a run that ends
    without reaching one is an "error", never a default "held"."""

    verdict: Verdict | None = None
    reasons: list[str] = field(default_factory=list)
    probes: list[dict[str, Any]] = field(default_factory=list)  # every evaluation, with its phase
    phases: list[dict[str, Any]] = field(default_factory=list)  # name, start, end
    fault_windows: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, float | None] = field(default_factory=dict)
    load: dict[str, Any] | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    abort: dict[str, Any] | None = None

    plan: list[str] = field(default_factory=list)  # what the faults hit (shown by --dry-run)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict or "error"]

    def fail(self, verdict: Verdict, reason: str) -> None:
        """Record a reason; the most severe verdict wins (aborted > deviated)."""
        self.reach(verdict)
        self.reasons.append(reason)

    def reach(self, verdict: Verdict) -> None:
        """Conclude `verdict` unless a more severe one was reached already."""
        if self.verdict is None or SEVERITY.index(verdict) > SEVERITY.index(self.verdict):
            self.verdict = verdict


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
    plan: Plan | None = None
    load: BackgroundLoad | None = None
    load_result: LoadResult | None = None
    outcome: Outcome = field(default_factory=Outcome)
    started: float = field(default_factory=time.time)

    def evaluate(self, probe: AnyProbe) -> ProbeResult:
        """A PromQL probe against Prometheus; a client probe against the live load."""
        if isinstance(probe, ClientProbe):
            return evaluate_client(probe, self.load.recent(probe.window) if self.load else [])
        return evaluate(probe, self.prom)

    def record_probe(self, phase: str, result: ProbeResult) -> None:
        self.outcome.probes.append({"phase": phase, **result.to_json()})
        # probe results are many and lose nothing on a crash: no fsync for each
        self.journal.record("probe", durable=False, phase=phase, **result.to_json())
