"""Which alert rules the experiments proved, which they kept quiet, and which nobody did.

One row per alert rule the stack's Prometheus loads (Sloth's page and ticket alerts
share a name and differ in `sloth_severity`, so a row is a name plus its severity).
A proof covers a rule when the name matches and the firing series carried the rule's
severity; an experiment whose `no_alerts` held an alert quiet for the whole run covers
it as "quiet as designed".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.alerts.proof import AlertProof
from harness.alerts.rules import Rule
from harness.outcome import Outcome
from harness.specs.experiment import Experiment

__all__ = ["Row", "coverage"]

_SEVERITY_KEYS = ("severity", "sloth_severity")


@dataclass(frozen=True)
class Row:
    alert: str
    severity: str
    status: str  # "proven", "NOT PROVEN", "quiet as designed", "FIRED", "unproven"
    experiment: str = ""
    proof: AlertProof | None = None
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status in ("NOT PROVEN", "FIRED")


def coverage(rules: Sequence[Rule], runs: Sequence[tuple[Experiment, Outcome]]) -> list[Row]:
    rows: list[Row] = []
    seen: set[tuple[str, str]] = set()
    for rule in rules:
        if rule.kind != "alert":
            continue
        severity = _severity(rule.labels)
        if (rule.name, severity) in seen:
            continue
        seen.add((rule.name, severity))
        found = [
            row
            for exp, outcome in runs
            if (row := _row(rule.name, severity, exp, outcome)) is not None
        ]
        # a failure anywhere shows; else the first proof (fastest first); else quiet
        failed = [r for r in found if r.failed]
        proven = sorted(
            (r for r in found if r.status == "proven"),
            key=lambda r: r.proof.time_to_fire if r.proof and r.proof.time_to_fire else 0.0,
        )
        rows.append((failed or proven or found or [Row(rule.name, severity, "unproven")])[0])
    return rows


def _row(alert: str, severity: str, exp: Experiment, outcome: Outcome) -> Row | None:
    for proof in outcome.alerts:
        if proof.alert != alert:
            continue
        carried = _severity(proof.fired_labels) or _severity(proof.labels)
        if severity and carried and carried != severity:
            continue
        status = "proven" if proof.ok else "NOT PROVEN"
        return Row(alert, severity, status, exp.name, proof, "; ".join(proof.problems))
    for quiet in exp.expectations.no_alerts:
        if quiet.when != "run" or quiet.alert != alert:
            continue
        wanted = _severity(quiet.labels)
        if wanted and severity and wanted != severity:
            continue
        probe = quiet.probe().name
        results = [p.result for p in outcome.probes if p.result.name == probe]
        if not results:
            return None
        bad = [r for r in results if not r.ok]
        if bad:
            return Row(alert, severity, "FIRED", exp.name, None, bad[0].summary())
        return Row(alert, severity, "quiet as designed", exp.name)
    return None


def _severity(labels: dict[str, str]) -> str:
    return next((labels[k] for k in _SEVERITY_KEYS if labels.get(k)), "")
