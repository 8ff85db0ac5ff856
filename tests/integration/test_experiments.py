"""`harness run` on the real stack: every fault family, refusals, aborts, signals, crashes."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from harness.clients.toxiproxy import ToxiproxyClient
from harness.safety.journal import read_events, rendered_path
from tests.integration.runs import (
    assert_clean,
    events,
    experiment,
    kill_and_await_watchdog,
    long_latency,
    run,
    start_run,
)
from tests.integration.stackfixture import ROOT, Stack, harness
from tests.integration.test_checks import SHOP_CHECKS


def test_latency_fault_holds_and_is_removed(stack: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "lat",
        """
        one-orders: {service: orders, count: 1}
    """,
        """
        - {type: latency, target: one-orders, latency_ms: 150, duration: 6s}
    """,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal["verdict"] == "held"
    applied, removed = events(journal, "fault.applied"), events(journal, "fault.removed")
    assert len(applied) == 1 and len(removed) == 1
    out = Path(journal["source"]).parent / "runs"
    run_dir = next(out.glob("*-lat"))
    assert (run_dir / "junit.xml").read_text().count("<testcase") >= 2
    assert "<svg" in (run_dir / "report.html").read_text()
    assert_clean(stack)


def test_pause_then_sigcont(stack: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "pause",
        """
        one-catalog: {replicas: [catalog-2]}
    """,
        """
        - {type: pause, target: one-catalog, duration: 4s}
    """,
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert events(journal, "fault.removed")
    comp = stack.state.component("catalog-2")
    assert not comp.process().stopped()
    assert_clean(stack)


def test_kill_is_restarted_and_measured(stack: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "kill",
        """
        one-orders: {service: orders, count: 1}
    """,
        """
        - {type: kill, target: one-orders, start_after: 1s, duration: 8s}
    """,
        expectations=SHOP_CHECKS,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal["figures"]["restart_seconds"] < 10
    # each recovery figure named for what it measures, in the terminal too
    figures = journal["figures"]
    assert figures["first_success_seconds"] < 2 and figures["recovery_seconds"] is not None
    assert "instance killed → replacement ready: " in result.stdout
    assert "rollback complete → first successful request sent after it" in result.stdout
    assert "rollback complete → steady state confirmed by the probes" in result.stdout
    assert [c["ok"] for c in journal["checks"]] == [True, True], journal["checks"]
    assert_clean(stack)


def test_database_down_aborts_on_the_guardrail(stack: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "dbdown",
        """
        db: {service: orders, percent: 100, hop: database}
    """,
        """
        - {type: refused, target: db, duration: 40s}
    """,
        guardrails="""
  - name: errors
    query: |
      (sum(rate(http_server_requests_total{service="gateway",code=~"5.."}[5s])) or vector(0))
        / sum(rate(http_server_requests_total{service="gateway"}[5s]))
    op: "<"
    threshold: 0.1
""",
        blast="max_duration: 60s\n  allow_total_outage: true",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert journal["verdict"] == "aborted"
    assert journal["abort"]["evidence"][0]["name"] == "errors"
    assert journal["figures"]["detection_seconds"] < 15
    assert journal["figures"]["rollback_seconds"] < 3
    assert_clean(stack)


def test_blast_radius_refusal_injects_nothing(stack: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "toomany",
        """
        all-orders: {service: orders, percent: 100}
    """,
        """
        - {type: latency, target: all-orders, latency_ms: 100, duration: 5s}
    """,
        blast="max_duration: 30s",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "allow_total_outage" in result.stdout
    assert journal["verdict"] == "refused"
    assert list((tmp_path / "runs").glob("*/junit.xml")), "a refused run writes junit.xml"
    assert not events(journal, "fault.applying")
    assert_clean(stack)


def test_a_probe_with_no_data_never_passes(stack: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "nodata",
        """
        one-orders: {service: orders, count: 1}
    """,
        """
        - {type: latency, target: one-orders, latency_ms: 100, duration: 5s}
    """,
        steady="""
  - name: ghost
    query: sum(rate(no_such_metric_total[10s]))
    op: "<"
    threshold: 1
""",
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert journal["verdict"] == "not steady"
    assert "no data" in journal["reasons"][0] and "ghost" in journal["reasons"][0]
    assert not events(journal, "fault.applying")


def test_sigint_and_sigterm_during_the_fault_roll_back(stack: Stack, tmp_path: Path):
    for sig in (signal.SIGINT, signal.SIGTERM):
        tmp = tmp_path / sig.name
        tmp.mkdir()
        proc, journal_path = start_run(stack, long_latency(tmp, f"sig-{sig.name.lower()}"), tmp)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
        journal = json.loads(rendered_path(journal_path).read_text())
        assert proc.returncode == 4, out
        assert journal["verdict"] == "interrupted"
        assert len(events(journal, "fault.removed")) == len(events(journal, "fault.applied"))
        assert_clean(stack)


def test_sigkill_of_the_harness_is_undone_by_the_watchdog(stack: Stack, tmp_path: Path):
    proc, journal_path = start_run(stack, long_latency(tmp_path, "crash"), tmp_path)
    assert kill_and_await_watchdog(stack, proc, "the watchdog to remove the toxic") < 15
    removed = [e for e in read_events(journal_path) if e["event"] == "fault.removed"]
    assert [e["by"] for e in removed] == ["watchdog"]
    # the harness never reached a verdict: none is assumed
    assert not [e for e in read_events(journal_path) if e["event"] == "verdict"]
    assert_clean(stack)
    assert (
        "nothing to recover"
        in harness(
            "recover", "--stack", str(stack.stack_file), "--stack-dir", str(stack.run_dir)
        ).stdout
    )


def test_without_the_watchdog_run_refuses_until_recover(stack: Stack, tmp_path: Path):
    proc, journal_path = start_run(stack, long_latency(tmp_path, "orphan"), tmp_path)
    active = json.loads((stack.run_dir / "active-run.json").read_text())
    # take the dead-man's switch away first, then crash the harness: faults stay behind
    os.kill(active["watchdog_pid"], signal.SIGKILL)
    proc.kill()
    proc.communicate(timeout=10)
    with ToxiproxyClient(stack.toxiproxy) as tp:
        assert any(p.toxics for p in tp.proxies().values())

    again = tmp_path / "again"
    again.mkdir()
    refused, _ = run(stack, long_latency(again, "blocked"), again)
    assert refused.returncode == 3
    assert "harness recover" in refused.stdout

    recovered = harness(
        "recover", "--stack", str(stack.stack_file), "--stack-dir", str(stack.run_dir)
    )
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "reverted latency toxic" in recovered.stdout
    assert_clean(stack)


def test_validate_reports_every_error_of_every_file(tmp_path: Path):
    good = (ROOT / "experiments" / "orders-latency-one-replica.yaml").read_text()
    (tmp_path / "a.yaml").write_text(good.replace("latency_ms: 300", "latency_ms: 0"))
    (tmp_path / "b.yaml").write_text(good.replace('op: ">="', 'op: "=>"', 1))
    result = harness("validate", str(tmp_path))
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"{tmp_path}/a.yaml:18: faults.0.latency_ms: Input should be greater than or equal to 1",
        f"{tmp_path}/b.yaml:34: steady_state.0.op: Input should be '<', '<=', '>', '>=', '==' or '!='",
    ]
    assert "Traceback" not in result.stderr


def test_dry_run_resolves_and_probes_but_injects_nothing(stack: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "dry",
        """
        one-orders: {service: orders, count: 1}
    """,
        """
        - {type: kill, target: one-orders, duration: 5s}
    """,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    pids = {c.name: c.pid for c in stack.state.components}
    result, journal = run(stack, path, tmp_path, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal["verdict"] == "dry run"
    assert events(journal, "planned")[0]["replicas"][0].startswith("orders-")
    assert not events(journal, "fault.applying")
    assert {c.name: c.pid for c in stack.state.components} == pids
    (target,) = events(journal, "planned")[0]["replicas"]
    assert f"kill at +0s for 5s on {target}" in result.stdout


def test_a_dry_run_that_would_not_be_steady_exits_1(stack: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "dry-unsteady",
        """
        one-catalog: {service: catalog, count: 1}
    """,
        """
        - {type: latency, target: one-catalog, latency_ms: 50, duration: 5s}
    """,
        steady="""
  - {name: impossible, query: 'vector(1)', op: "<", threshold: 0}
""",
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(stack, path, tmp_path, "--dry-run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert journal["verdict"] == "not steady"
    assert "steady state would fail: impossible" in result.stdout
    assert "links: gateway_catalog-" in result.stdout


def test_a_failed_expectation_deviates_naming_the_worst_value(stack: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "slow-catalog",
        """
        catalogs: {service: catalog, percent: 100}
    """,
        """
        - {type: latency, target: catalogs, latency_ms: 200, duration: 5s}
    """,
        load="""
load:
  rate: 15
  routes:
    - {method: GET, path: /products}
""",
        expectations="""
  during:
    - {name: fast, metric: p50_seconds, window: 1s, op: "<", threshold: 0.1}
""",
        blast="max_duration: 30s\n  allow_total_outage: true",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert journal["verdict"] == "deviated"
    (reason,) = [r for r in journal["reasons"] if r.startswith("expectation fast")]
    fast = [p for p in events(journal, "probe") if p["name"] == "fast" and p["value"]]
    worst = max(p["value"] for p in fast if p["judged"])  # inside the fault: from +1 s
    assert f"worst {worst:.4g}" in reason and "(needs < 0.1)" in reason, reason
    # the first second's windows are not judged: they hold no request sent into the fault
    # yet (pending), or not a whole window of them
    probes = [p for p in events(journal, "probe") if p["name"] == "fast"]
    early = [p for p in probes if p.get("judged") is False]
    whys = {
        "window still holds pre-fault requests",
        "no request sent since the fault began has completed yet",
    }
    assert early and all(p["why"] in whys for p in early), early
    assert "those whose 1 s window lay inside the fault (from +1 s)" in reason, reason
    assert_clean(stack)


def test_blackhole_on_every_catalog_link_degrades_and_recovers(stack: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "blackhole",
        """
        catalogs: {service: catalog, percent: 100}
    """,
        """
        - {type: blackhole, target: catalogs, duration: 8s}
    """,
        load="""
load:
  rate: 15
  routes:
    - {method: GET, path: /products}
""",
        blast="max_duration: 30s\n  allow_total_outage: true",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal["load"]["errors"] == 0, journal["load"]
    assert_clean(stack)


def test_client_guardrail_aborts_without_waiting_for_a_scrape(stack: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "clientguard",
        """
        db: {service: orders, percent: 100, hop: database}
    """,
        """
        - {type: refused, target: db, duration: 40s}
    """,
        guardrails="""
  - {name: users, metric: error_ratio, window: 1s, op: "<", threshold: 0.1}
""",
        blast="max_duration: 60s\n  allow_total_outage: true",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert journal["abort"]["evidence"][0]["name"] == "users"
    query = "client error_ratio over the last 1s, sent since the fault began"
    assert journal["abort"]["evidence"][0]["query"] == query
    assert journal["figures"]["detection_seconds"] < 2
    assert_clean(stack)
