"""The coverage table's rows: proven, failed, quiet as designed, fired, unproven."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.alerts.coverage import coverage
from harness.alerts.floor import Floor
from harness.alerts.proof import AlertProof
from harness.alerts.rules import Rule
from harness.outcome import Outcome, ProbeEvaluation
from harness.probes.promql import ProbeResult
from harness.specs.experiment import Experiment
from harness.specs.yamlload import parse_model
from tests.fakes import example_without_no_alerts

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = example_without_no_alerts()


def experiment(expectations: str) -> Experiment:
    text = EXAMPLE.replace("expectations:\n", "expectations:\n" + expectations, 1)
    return parse_model(text, "exp.yaml", Experiment)


def alert(name: str, **labels: str) -> Rule:
    return Rule("r.yml", 1, "alert", name, "up == 0", labels)


RULES = [
    alert("ShopHighErrorRatio", severity="page"),
    alert("ShopAvailabilitySLO", sloth_severity="page"),
    alert("ShopAvailabilitySLO", sloth_severity="ticket"),
    alert("ShopHighLatencyP99", severity="page"),
    alert("ReplicaDown", severity="ticket"),
]


def proof(name: str, ok: bool = True, fired: float = 10.0, **labels: str) -> AlertProof:
    p = AlertProof(name, {}, "q", "r", 0.0, 40.0, Floor(8.0, 9.0, (), ""), 1.0, "load")
    p.fired_at, p.notified_at, p.fired_labels = fired, fired + 1, dict(labels)
    if not ok:
        p.problems.append("did not resolve")
    return p


def quiet_result(name: str, ok: bool) -> ProbeEvaluation:
    status: Any = "pass" if ok else "fail"
    return ProbeEvaluation(
        "during", ProbeResult(name, "q", "==", 0.0, 0.0 if ok else 1.0, 1.0, status)
    )


def test_rows_per_rule_and_severity() -> None:
    outage = experiment(
        "  alerts:\n    - {alert: ShopHighErrorRatio, fires_within: 1m}\n"
        "    - {alert: ShopAvailabilitySLO, labels: {sloth_severity: page}, fires_within: 1m}\n"
    )
    done = Outcome()
    done.alerts += [
        proof("ShopHighErrorRatio", severity="page"),
        proof("ShopAvailabilitySLO", fired=5.0, sloth_severity="page"),
    ]
    latency = experiment("  no_alerts:\n    - {alert: ShopHighLatencyP99, when: run}\n")
    held = Outcome()
    held.probes.append(quiet_result("no-shophighlatencyp99", ok=True))
    rows = coverage(RULES, [(outage, done), (latency, held)])
    table = {(r.alert, r.severity): (r.status, r.experiment) for r in rows}
    assert table == {
        ("ShopHighErrorRatio", "page"): ("proven", outage.name),
        ("ShopAvailabilitySLO", "page"): ("proven", outage.name),
        ("ShopAvailabilitySLO", "ticket"): ("unproven", ""),
        ("ShopHighLatencyP99", "page"): ("quiet as designed", latency.name),
        ("ReplicaDown", "ticket"): ("unproven", ""),
    }


def test_a_failure_anywhere_shows_over_a_proof_elsewhere() -> None:
    exp = experiment("  alerts:\n    - {alert: ShopHighErrorRatio, fires_within: 1m}\n")
    good, bad = Outcome(), Outcome()
    good.alerts.append(proof("ShopHighErrorRatio", severity="page"))
    bad.alerts.append(proof("ShopHighErrorRatio", ok=False, severity="page"))
    [row] = [
        r for r in coverage(RULES, [(exp, good), (exp, bad)]) if r.alert == "ShopHighErrorRatio"
    ]
    assert row.status == "NOT PROVEN" and row.failed and row.detail == "did not resolve"


def test_a_quiet_alert_that_fired_fails() -> None:
    latency = experiment("  no_alerts:\n    - {alert: ShopHighLatencyP99, when: run}\n")
    fired = Outcome()
    fired.probes.append(quiet_result("no-shophighlatencyp99", ok=False))
    [row] = [r for r in coverage(RULES, [(latency, fired)]) if r.alert == "ShopHighLatencyP99"]
    assert row.status == "FIRED" and row.failed
