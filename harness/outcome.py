"""What a run found, typed: the verdict and its reasons, every probe evaluation, the
phases and fault windows, the measured figures, the load, the checks and the abort.

The run fills these in as it goes and the reports read their attributes; they become
JSON only once, in the journal's `verdict` event (`verdict_fields`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from harness.alerts.proof import AlertProof
from harness.load.generator import LoadResult
from harness.probes.checks.common import CheckResult
from harness.probes.promql import ProbeResult
from harness.slo.budget import BudgetBurn

__all__ = [
    "EXIT_CODES",
    "FIGURES",
    "SEVERITY",
    "Abort",
    "FaultWindow",
    "Figures",
    "LoadSummary",
    "Outcome",
    "PhaseSpan",
    "ProbeEvaluation",
    "RampOutcome",
    "StepResult",
    "TargetLoad",
    "Verdict",
    "verdict_fields",
]

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


@dataclass(frozen=True, slots=True)
class ProbeEvaluation:
    """One probe evaluated in one phase ("before", "guardrail", "during", ...).

    One not `judged` is recorded and drawn but never read for a verdict: a `during`
    evaluation whose look-back still reached back before the fault, a guardrail still
    waiting for the fault's first evidence; `why` says which. `settle` and `basis`: a
    `during` expectation's seconds after the fault's start before its evaluations
    count, and what sets them ("2 s window").
    """

    phase: str
    result: ProbeResult
    judged: bool = True
    why: str = ""
    settle: float | None = None
    basis: str = ""

    def as_shown(self) -> ProbeResult:
        """The result as the live view shows it: one not judged reads "pending" with why,
        never a "fail" (or "pass") that the verdict will not count."""
        if self.judged:
            return self.result
        return replace(self.result, status="pending", detail=f"not judged: {self.why}")

    def marks(self) -> dict[str, Any]:
        """What the journal keeps beside the result: nothing for a plain judged one."""
        if self.judged and self.settle is None:
            return {}
        return {"judged": self.judged, "why": self.why, "settle": self.settle, "basis": self.basis}


@dataclass(slots=True)
class PhaseSpan:
    """A phase of the run; `end` is set when it ends."""

    name: str
    start: float
    end: float | None = None


@dataclass(slots=True)
class FaultWindow:
    """When a fault was in place; `end` is set when it is removed (None: still open)."""

    fault: int
    type: str
    targets: tuple[str, ...]
    start: float
    end: float | None = None
    step: int | None = None  # the ramp's step (1-based) this window belongs to

    def covers(self, t: float) -> bool:
        """An open window extends to the right without bound."""
        return self.start <= t <= (math.inf if self.end is None else self.end)


@dataclass(frozen=True, slots=True)
class Abort:
    """The decision to abort: when, why, and the guardrail results that breached."""

    time: float
    reason: str
    evidence: tuple[ProbeResult, ...] = ()


StepStatus = Literal["held", "broke", "breached", "not run"]


@dataclass(slots=True)
class StepResult:
    """One step of a ramp: what it hit, when, and whether the system held.

    "broke": an expectation, an SLO or the recovery failed; "breached": a guardrail
    stopped it; "not run": the ramp ended before it (a break, or the blast radius)."""

    step: int  # 1-based
    description: str  # "pause on 2 of 3 orders replicas", "latency_ms=300", or both
    replicas: tuple[str, ...] = ()
    status: StepStatus = "not run"
    start: float | None = None
    end: float | None = None
    reasons: list[str] = field(default_factory=list)
    slos: list[BudgetBurn] = field(default_factory=list)  # the SLI over the step's window
    recovery_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["slos"] = [b.to_json() for b in self.slos]
        return out


@dataclass(slots=True)
class RampOutcome:
    """A ramp's steps and its breaking point: the first step that did not hold."""

    steps: list[StepResult]
    must_hold: int  # the hypothesis: steps 1..must_hold hold
    limit: str = ""  # why the ramp ends before its last step without a break
    breaking_point: int | None = None
    seconds_to_break: float | None = None  # first injection -> the break decided

    def summary(self) -> str:
        """ "holds at step 1 (kill on 1 of 3 orders replicas); breaks at step 2 (...): why"."""
        ran = [s for s in self.steps if s.status != "not run"]
        held = [s for s in ran if s.status == "held"]
        first = f"holds at step {held[-1].step} ({held[-1].description})" if held else ""
        if self.breaking_point is not None:
            broke = self.steps[self.breaking_point - 1]
            why = broke.reasons[0] if broke.reasons else broke.status
            text = f"breaks at step {broke.step} ({broke.description}): {why}"
            return f"{first}; {text}" if first else f"breaks at the first step: {text}"
        if self.limit:
            return f"{first}; {self.limit}" if first else self.limit
        if not held:
            return "no step ran to its end"
        return f"holds at every step, up to step {held[-1].step} ({held[-1].description})"

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": [s.to_json() for s in self.steps],
            "must_hold": self.must_hold,
            "limit": self.limit,
            "breaking_point": self.breaking_point,
            "seconds_to_break": self.seconds_to_break,
            "summary": self.summary(),
        }


# each figure's name as the report, the terminal and JUnit say it: what it measures
FIGURES: dict[str, str] = {
    "detection_seconds": "fault start → guardrail breach detected",
    "rollback_seconds": "abort/end decision → every fault removed",
    "first_success_seconds": "rollback complete → first successful request sent after it "
    "(the load's users)",
    "recovery_seconds": "rollback complete → steady state confirmed by the probes "
    "(their windows included)",
    "restart_seconds": "instance killed → replacement ready",
}


@dataclass(slots=True)
class Figures:
    """What the run measured, in seconds (rollback_started/complete: wall clock).

    None is "not measured" — except for recovery, which once awaited is measured even
    when the steady state never returned (`recovery_awaited` and no seconds). Recovery
    is two figures: the users' first success after the rollback (as soon as the system
    answers again) and the steady state confirmed by the probes (as late as their
    windows have let go of the fault).
    """

    detection_seconds: float | None = None
    restart_seconds: float | None = None
    rollback_started: float | None = None
    rollback_complete: float | None = None
    rollback_seconds: float | None = None
    recovery_seconds: float | None = None
    recovery_awaited: bool = False
    first_success_seconds: float | None = None

    def lines(self) -> list[str]:
        """ "instance killed → replacement ready: 2.31 s", one per figure measured."""
        measured = self.measured()
        return [
            f"{label}: {'not within the limit' if measured[key] is None else f'{measured[key]:g} s'}"
            for key, label in FIGURES.items()
            if key in measured
        ]

    def record_recovery(self, seconds: float | None) -> None:
        self.recovery_awaited, self.recovery_seconds = True, seconds

    def measured(self) -> dict[str, float | None]:
        """Only what was measured, by name: the journal's `figures`."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        del out["recovery_awaited"]
        if self.recovery_awaited:
            out["recovery_seconds"] = self.recovery_seconds
        return out


@dataclass(frozen=True, slots=True)
class TargetLoad:
    """One target's share of the load: the replica whose edge proxy it went through
    ("" for a URL), and what its users saw there."""

    target: str
    requests: int
    errors: int
    error_ratio: float | None
    p99_ms: float | None


@dataclass(frozen=True, slots=True)
class LoadSummary:
    """What the load generator's users saw over the run, in all and through each target."""

    requests: int
    errors: int
    error_ratio: float | None
    p50_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    achieved_rps: float | None
    targets: tuple[TargetLoad, ...] = ()  # in the order the requests went round

    @classmethod
    def of(cls, result: LoadResult) -> LoadSummary:
        targets = tuple(TargetLoad(**t) for t in result.by_target())
        return cls(**result.summary(), targets=targets)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadSummary:
        """As the journal's verdict carries it (`asdict`); older journals have no targets."""
        targets = tuple(TargetLoad(**t) for t in data.get("targets", ()))
        return cls(**{**data, "targets": targets})


@dataclass
class Outcome:
    """What a run found. The verdict is None until one is reached: a run that ends
    without reaching one is an "error", never a default "held"."""

    verdict: Verdict | None = None
    reasons: list[str] = field(default_factory=list)
    probes: list[ProbeEvaluation] = field(default_factory=list)  # every evaluation
    phases: list[PhaseSpan] = field(default_factory=list)
    fault_windows: list[FaultWindow] = field(default_factory=list)
    figures: Figures = field(default_factory=Figures)
    load: LoadSummary | None = None
    checks: list[CheckResult] = field(default_factory=list)
    alerts: list[AlertProof] = field(default_factory=list)  # expected alerts, proven or not
    budget: list[BudgetBurn] = field(default_factory=list)  # each SLO's budget the run burnt
    abort: Abort | None = None
    ramp: RampOutcome | None = None  # gradual chaos: each step and the breaking point

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

    def evaluations(self, phase: str) -> list[ProbeResult]:
        """The results of every judged evaluation in `phase`, in order."""
        return [p.result for p in self.probes if p.phase == phase and p.judged]


def verdict_fields(o: Outcome) -> dict[str, Any]:
    """The outcome as the journal's `verdict` event carries it (the JSON boundary)."""
    return {
        "verdict": o.verdict,
        "exit_code": o.exit_code,
        "reasons": o.reasons,
        "figures": o.figures.measured(),
        "load": asdict(o.load) if o.load is not None else None,
        "checks": [asdict(c) for c in o.checks],
        "alerts": [a.to_json() for a in o.alerts],
        "budget": [b.to_json() for b in o.budget],
        "abort": asdict(o.abort) if o.abort is not None else None,
        "phases": [asdict(p) for p in o.phases],
        "fault_windows": [asdict(w) for w in o.fault_windows],
        "plan": o.plan,
        "ramp": o.ramp.to_json() if o.ramp is not None else None,
    }
