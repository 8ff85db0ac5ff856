"""The skip checks against a fake Prometheus (httpx.MockTransport) and a history on disk."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from harness.clients.prometheus import PrometheusClient
from harness.schedule.checks import Checks, skip_reason
from harness.schedule.history import Entry, ExperimentRun, append, write_inflight
from harness.schedule.spec import AlertsFiring, BudgetBelow, SkipWhen
from harness.slo import load_slo_file

ROOT = Path(__file__).resolve().parents[2]
AVAILABILITY = next(
    s for s in load_slo_file(ROOT / "slo" / "shop.yaml").slos if s.name == "requests-availability"
)
WINDOW = re.compile(r"\[(\d+)s\]")


def firing(alertname: str, **labels: str) -> dict:
    return {"labels": {"alertname": alertname, **labels}, "state": "firing"}


def prometheus(alerts: list[dict] | None = None, error_ratio: float = 0.0, down: bool = False):
    def handle(request: httpx.Request) -> httpx.Response:
        if down:
            raise httpx.ConnectError("refused", request=request)
        if request.url.path == "/api/v1/alerts":
            return httpx.Response(200, json={"status": "success", "data": {"alerts": alerts or []}})
        query = request.url.params["query"]
        value = 10.0 * error_ratio if 'code=~"5.."' in query else 10.0
        data = {"resultType": "vector", "result": [{"metric": {}, "value": [0, str(value)]}]}
        return httpx.Response(200, json={"status": "success", "data": data})

    http = httpx.Client(base_url="http://p.test", transport=httpx.MockTransport(handle))
    return PrometheusClient("http://p.test", client=http)


def checks(tmp_path: Path, prom: PrometheusClient) -> Checks:
    return Checks(prom, tmp_path / "runs", tmp_path / "stack-run", AVAILABILITY)


def test_nothing_to_skip(tmp_path):
    when = SkipWhen(alerts_firing=True, previous_unclean=True)
    assert skip_reason(when, checks(tmp_path, prometheus())) is None


def test_a_firing_page_skips_naming_it(tmp_path):
    prom = prometheus([firing("ShopHighErrorRatio", severity="page", service="gateway")])
    reason = skip_reason(
        SkipWhen(alerts_firing=AlertsFiring(severity="page")), checks(tmp_path, prom)
    )
    assert reason == "alert firing: ShopHighErrorRatio{severity=page, service=gateway}"


def test_only_matching_firing_alerts_count(tmp_path):
    prom = prometheus(
        [
            firing("ReplicaDown", severity="ticket"),
            {"labels": {"alertname": "X", "severity": "page"}, "state": "pending"},
        ]
    )
    when = SkipWhen(alerts_firing=AlertsFiring(severity="page"))
    assert skip_reason(when, checks(tmp_path, prom)) is None
    assert "ReplicaDown" in skip_reason(SkipWhen(alerts_firing=True), checks(tmp_path, prom))


def test_an_unreachable_prometheus_skips_never_runs_blind(tmp_path):
    reason = skip_reason(SkipWhen(alerts_firing=True), checks(tmp_path, prometheus(down=True)))
    assert reason.startswith("cannot check alerts: Prometheus at http://p.test did not answer")


def test_budget_below_the_threshold_skips(tmp_path):
    # objective 99.9: an error ratio of 0.0008 over the period spends 80% of the budget
    prom = prometheus(error_ratio=0.0008)
    when = SkipWhen(budget_below=BudgetBelow(slo="requests-availability", remaining=0.25))
    reason = skip_reason(when, checks(tmp_path, prom))
    assert reason.startswith("error budget low: requests-availability has 20.0% left"), reason
    assert "below 25%" in reason


def test_budget_above_the_threshold_runs(tmp_path):
    when = SkipWhen(budget_below=BudgetBelow(slo="requests-availability", remaining=0.25))
    assert skip_reason(when, checks(tmp_path, prometheus(error_ratio=0.0001))) is None


def test_budget_without_data_skips(tmp_path):
    def handle(request: httpx.Request) -> httpx.Response:
        data = {"resultType": "vector", "result": []}
        return httpx.Response(200, json={"status": "success", "data": data})

    http = httpx.Client(base_url="http://p.test", transport=httpx.MockTransport(handle))
    prom = PrometheusClient("http://p.test", client=http)
    when = SkipWhen(budget_below=BudgetBelow(slo="requests-availability", remaining=0.25))
    reason = skip_reason(when, checks(tmp_path, prom))
    assert reason.startswith("cannot check the error budget of requests-availability: no data")


def ran(exit_code: int, verdict: str = "held", designed: str = "held") -> Entry:
    run = ExperimentRun("exp", verdict, designed, exit_code, "runs/x/report.html")
    return Entry(
        "2025-01-08T09:00:00+01:00", 1.0, "s", "ran", exit_code=exit_code, experiments=[run]
    )


def test_previous_not_as_designed_skips(tmp_path):
    append(tmp_path / "runs", ran(1, "deviated"))
    append(tmp_path / "runs", Entry("later", 2.0, "s", "skipped", reason="alert firing"))
    reason = skip_reason(SkipWhen(previous_unclean=True), checks(tmp_path, prometheus()))
    assert reason == "previous run unclean: slot 2025-01-08T09:00:00+01:00 exit 1 (exp: deviated)"


def test_previous_exit_3_or_more_skips_even_as_designed(tmp_path):
    append(tmp_path / "runs", ran(3, "refused", "refused"))
    reason = skip_reason(SkipWhen(previous_unclean=True), checks(tmp_path, prometheus()))
    assert reason.startswith("previous run unclean: slot") and "exit 3" in reason


def test_an_acknowledgement_clears_an_unclean_run(tmp_path):
    append(tmp_path / "runs", ran(4, "error"))
    append(tmp_path / "runs", Entry("ack", 2.0, "s", "acknowledged", reason="looked at it"))
    assert skip_reason(SkipWhen(previous_unclean=True), checks(tmp_path, prometheus())) is None


def test_a_run_whose_process_died_is_unclean(tmp_path):
    runs = tmp_path / "runs"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    runs.mkdir()
    (runs / "schedule-inflight.json").write_text(json.dumps({"slot": "S", "pid": int(dead.stdout)}))
    reason = skip_reason(SkipWhen(previous_unclean=True), checks(tmp_path, prometheus()))
    assert reason.startswith("previous run unclean: the run of slot S did not finish")


def test_a_live_run_of_the_same_history_skips_whatever_the_settings(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "schedule-inflight.json").write_text(json.dumps({"slot": "S", "pid": os.getppid()}))
    reason = skip_reason(SkipWhen(), checks(tmp_path, prometheus()))
    assert reason.startswith(f"another scheduled run is in progress (pid {os.getppid()}")
    write_inflight(runs, "mine")  # our own marker is not another run
    assert skip_reason(SkipWhen(), checks(tmp_path, prometheus())) is None


def test_faults_left_by_a_dead_run_are_unclean(tmp_path):
    stack_run = tmp_path / "stack-run"
    stack_run.mkdir()
    journal = tmp_path / "journal.jsonl"
    journal.write_text(json.dumps({"event": "fault.applying", "fault_id": "f1"}) + "\n")
    active = {"journal": str(journal), "pid": 1, "start_time": 1, "heartbeat": "h"}
    (stack_run / "active-run.json").write_text(json.dumps(active))
    reason = skip_reason(SkipWhen(previous_unclean=True), checks(tmp_path, prometheus()))
    assert reason.startswith("previous run unclean: an earlier run left 1 fault(s) in place")
