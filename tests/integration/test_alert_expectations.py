"""Alerts proven live: a real fault fires a real alert rule, Alertmanager routes it to
the harness's receiver, and the run's journal, JUnit and report carry the proof."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.runs import assert_clean, events, experiment, run, run_args
from tests.integration.stackfixture import Stack, harness

PAUSE = """
  - {type: pause, target: one-catalog, duration: 20s}
"""
CATALOG = """
  one-catalog: {service: catalog, count: 1}
"""


def test_a_frozen_replica_is_proven_to_file_a_ticket(stack: Stack, tmp_path: Path) -> None:
    """Run through `harness alerts validate`, which runs the experiment as `run` does and
    then prints which rules the suite proves (one real run serves both: ~30 s each)."""
    path = experiment(
        tmp_path,
        "alert-replica-down",
        CATALOG,
        PAUSE,
        expectations="""
        alerts:
          - {alert: ReplicaDown, labels: {service: catalog}, fires_within: 20s,
             receiver: ticket, resolves_within: 20s}
        no_alerts:
          - {labels: {severity: page}, when: run}
        """,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    _, *args = run_args(stack, path, tmp_path)  # the same arguments as `harness run`'s
    result = harness("alerts", "validate", *args, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    # the coverage table: this rule proven by this experiment, the page rule not
    lines = result.stdout.splitlines()
    replica = next(line for line in lines if "ReplicaDown" in line and "│" in line)
    assert "proven" in replica and "alert-replica-down" in replica
    assert any("ShopHighErrorRatio" in line and "unproven" in line for line in lines)
    assert "failed, " in lines[-1] and "unproven" in lines[-1]
    # the run's own proof, as `run` writes it
    out = sorted((tmp_path / "runs").glob("*alert-replica-down"))[-1]
    journal = json.loads((out / "journal.json").read_text())
    [proof] = journal["alerts"]
    assert proof["ok"], proof["problems"]
    assert proof["notified_receiver"] == "ticket"
    assert proof["fired_labels"]["service"] == "catalog"
    # the floor is scrape + evaluation + for: 10s; the measure lands within a few seconds
    assert proof["floor_fire"] == 12.0
    assert 8.0 <= proof["time_to_fire"] <= 20.0
    assert proof["time_to_notify"] >= proof["time_to_fire"]
    assert proof["time_to_resolve"] is not None and proof["time_to_resolve"] <= 20.0
    assert events(journal, "alert")
    junit = (out / "junit.xml").read_text()
    assert "ReplicaDown{service=catalog} fires during the fault" in junit
    assert "notifications at http://127.0.0.1:" in junit
    report = (out / "report.html").read_text()
    assert "<h2>Alerts</h2>" in report and "Error budget burnt" in report
    assert len(journal["budget"]) == 2
    assert_clean(stack)


def test_an_alert_that_cannot_fire_deviates_with_the_evidence(stack: Stack, tmp_path: Path) -> None:
    # latency of 50 ms on one catalog replica breaks nothing: the page cannot fire
    path = experiment(
        tmp_path,
        "alert-never-fires",
        CATALOG,
        "- {type: latency, target: one-catalog, latency_ms: 50, duration: 3s}",
        expectations="""
        alerts:
          - {alert: ShopHighErrorRatio, fires_within: 3s, notified_within: 4s, receiver: page}
        """,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert journal["verdict"] == "deviated"
    [proof] = journal["alerts"]
    assert proof["problems"][0] == "did not fire within 3s of the fault's start"
    assert proof["floor_fire"] is None  # a share of 0 failing requests never crosses 5%
    assert any("alert ShopHighErrorRatio" in r for r in journal["reasons"])


def test_an_unknown_alert_is_refused_before_any_fault(stack: Stack, tmp_path: Path) -> None:
    path = experiment(
        tmp_path,
        "alert-unknown",
        CATALOG,
        PAUSE,
        expectations="""
        alerts:
          - {alert: NoSuchAlert, fires_within: 10s}
        """,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "NoSuchAlert are not rules of the Prometheus" in " ".join(journal["reasons"])
    assert not events(journal, "fault.applied")
