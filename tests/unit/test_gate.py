"""The gate's arithmetic and verdicts on known numbers (a fake Prometheus answering by
window); real data is fed to a real Prometheus in tests/integration/test_gate_live.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.clients.prometheus import PrometheusClient, PrometheusError
from harness.errors import InvalidInput
from harness.gate import default_gate, evaluate
from harness.gate.indicators import Scope
from harness.gate.ranges import parse_time, run_range, since_range
from harness.gate.render import markdown, write_json, write_junit
from harness.gate.spec import GateFile, relative_bound
from harness.slo import load_slo_file
from harness.specs.yamlload import parse_model

ROOT = Path(__file__).resolve().parents[2]
SHOP = load_slo_file(ROOT / "slo" / "shop.yaml")
WINDOW = re.compile(r"\[(\d+)s\]")


def prometheus(
    total: float | None = 10.0,
    errors: float | None = 0.0,
    slow: float | None = 0.0,
    errors_by_window: dict[int, float] | None = None,
    status: int = 200,
) -> PrometheusClient:
    """Rates per second: `total` requests, `errors` 5xx, `slow` over 0.5 s (by window)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if status != 200:
            return httpx.Response(status, text="down")
        query = request.url.params["query"]
        window = int(WINDOW.search(query).group(1)) if WINDOW.search(query) else 0
        value: float | None
        if 'code=~"5.."' in query:
            value = (errors_by_window or {}).get(window, errors)
        elif "histogram_quantile" in query:
            value = 0.2
        elif "_bucket" in query:  # the latency SLO's errors: count - bucket{le="0.5"}
            value = slow
        else:
            value = total
        result = [] if value is None else [{"metric": {}, "value": [0, str(value)]}]
        data = {"resultType": "vector", "result": result}
        return httpx.Response(200, json={"status": "success", "data": data})

    http = httpx.Client(base_url="http://p.test", transport=httpx.MockTransport(handle))
    return PrometheusClient("http://p.test", client=http)


def scope(prom: PrometheusClient, seconds: float = 3600.0) -> Scope:
    return Scope(prom, 1_000_000.0, 1_000_000.0 + seconds)


def gate(text: str) -> GateFile:
    return parse_model("version: harness/v1\nkind: gate\n" + text, "gate.yaml", GateFile)


def test_healthy_traffic_passes_the_default_gate() -> None:
    result = evaluate(default_gate([SHOP]), [SHOP], scope(prometheus()))
    assert result.verdict == "pass" and result.score == 100.0
    assert result.requests == 36000
    sli = result.objectives[0]
    assert (sli.name, sli.status, sli.value) == ("requests-availability-sli", "pass", 1.0)
    assert "[3600s]" in sli.query and sli.at == 1_003_600.0


def test_errors_over_the_objective_fail_on_the_key_objective() -> None:
    result = evaluate(default_gate([SHOP]), [SHOP], scope(prometheus(errors=0.05)))
    assert result.verdict == "fail"
    assert result.reasons[0].startswith("key objective failed: requests-availability-sli")
    assert "value 0.995" in result.reasons[0] and "(0.999)" in result.reasons[0]


def test_a_missed_non_key_objective_with_its_warning_held_warns() -> None:
    spec = gate(
        """settings: {pass: 90, warn: 40}
objectives:
  - {name: sli, indicator: sli, slo: requests-availability, pass: [{op: ">=", threshold: 0.99}]}
  - {name: ratio, indicator: error_ratio, slo: requests-availability,
     pass: [{op: "<", threshold: 0.001}], warn: [{op: "<", threshold: 0.01}]}
"""
    )
    result = evaluate(spec, [SHOP], scope(prometheus(errors=0.05)))
    statuses = {o.name: o.status for o in result.objectives}
    assert statuses == {"sli": "pass", "ratio": "warn"}
    assert (result.verdict, result.score) == ("warn", 75.0)
    assert result.reasons[0] == "score 75.0% is under the pass score 90%"


def test_no_requests_at_all_is_inconclusive_never_a_pass() -> None:
    result = evaluate(default_gate([SHOP]), [SHOP], scope(prometheus(total=None, errors=None)))
    assert result.verdict == "inconclusive"
    assert result.reasons == ["too little traffic: no requests in the range (needs 100)"]


def test_too_little_traffic_is_inconclusive_with_the_count() -> None:
    result = evaluate(default_gate([SHOP]), [SHOP], scope(prometheus(total=0.01), 3600))
    assert result.verdict == "inconclusive"
    assert result.reasons == ["too little traffic: 36 requests in the range (needs 100)"]


def test_an_objective_without_data_makes_the_gate_inconclusive() -> None:
    spec = gate(
        """objectives:
  - {name: sli, indicator: sli, slo: requests-availability, pass: [{op: ">=", threshold: 0.99}]}
  - {name: p99, indicator: query, query: "sum(rate(nothing_here[{{.range}}]))",
     pass: [{op: "<", threshold: 1}]}
  - {name: p50, indicator: query, query: "sum(rate(http_server_requests_total[{{.range}}]))",
     pass: [{op: ">", threshold: 1}]}
"""
    )
    prom = prometheus()
    original = prom.query

    def query(q: str, at: float | None = None) -> Any:
        return [] if "nothing_here" in q else original(q, at)

    prom.query = query  # type: ignore[method-assign]
    result = evaluate(spec, [SHOP], scope(prom))
    assert result.verdict == "inconclusive"
    assert result.reasons[0].startswith("inconclusive: p99: inconclusive: value no data")
    assert "query: sum(rate(nothing_here[3600s]))" in result.reasons[0]


def test_policies_fail_and_ignore_for_no_data() -> None:
    base = """objectives:
  - {name: sli, indicator: sli, slo: requests-availability, pass: [{op: ">=", threshold: 0.9}]}
  - {name: gone, indicator: query, query: "absent_metric", no_data: POLICY,
     pass: [{op: "<", threshold: 1}]}
"""
    prom = prometheus()
    original = prom.query
    prom.query = lambda q, at=None: [] if q == "absent_metric" else original(q, at)  # type: ignore[method-assign]
    failed = evaluate(gate(base.replace("POLICY", "fail")), [SHOP], scope(prom))
    assert failed.objectives[1].status == "fail" and failed.verdict == "fail"
    ignored = evaluate(gate(base.replace("POLICY", "ignore")), [SHOP], scope(prom))
    assert ignored.objectives[1].status == "ignored" and ignored.verdict == "pass"


def test_more_objectives_without_data_than_allowed_is_inconclusive() -> None:
    spec = gate(
        """settings: {max_no_data_share: 0.4}
objectives:
  - {name: a, indicator: query, query: "x", no_data: fail, pass: [{op: "<", threshold: 1}]}
  - {name: b, indicator: query, query: "x", no_data: fail, pass: [{op: "<", threshold: 1}]}
  - {name: sli, indicator: sli, slo: requests-availability, pass: [{op: ">=", threshold: 0.9}]}
"""
    )
    prom = prometheus()
    original = prom.query
    prom.query = lambda q, at=None: [] if q == "x" else original(q, at)  # type: ignore[method-assign]
    result = evaluate(spec, [SHOP], scope(prom))
    assert result.verdict == "inconclusive"
    assert result.reasons[0].startswith("2 of 3 objectives have no data (more than 40%): a, b")


RELATIVE = """objectives:
  - {name: errors, indicator: error_ratio, slo: requests-availability,
     pass: [{op: "<=", relative: "+0.001"}]}
  - {name: p99, indicator: query, query: "histogram_quantile(0.99, sum by (le) (rate(x_bucket[{{.range}}])))",
     pass: [{op: "<=", relative: "+10%"}]}
"""


def test_a_regression_against_a_baseline_file_fails() -> None:
    result = evaluate(
        gate(RELATIVE), [SHOP], scope(prometheus(errors=0.03)), {"errors": 0.001, "p99": 0.15}
    )
    statuses = {o.name: (o.status, o.baseline) for o in result.objectives}
    assert statuses == {"errors": ("fail", 0.001), "p99": ("fail", 0.15)}
    errors = result.objectives[0]
    assert errors.criteria[0].threshold == pytest.approx(0.002)
    assert result.verdict == "fail"


def test_the_same_range_a_day_earlier_is_read_again_as_the_baseline() -> None:
    prom = prometheus(errors_by_window={3600: 0.01})
    result = evaluate(gate(RELATIVE), [SHOP], scope(prom), scope(prom).shifted(86400))
    assert result.objectives[0].baseline == pytest.approx(0.001)
    assert result.objectives[0].status == "pass"


def test_a_relative_criterion_without_a_baseline_has_no_data() -> None:
    result = evaluate(gate(RELATIVE), [SHOP], scope(prometheus()), None)
    assert {o.status for o in result.objectives} == {"inconclusive"}
    assert result.verdict == "inconclusive"
    assert "no baseline value" in result.objectives[0].detail


def test_budget_burn_and_page_burn_arithmetic() -> None:
    spec = gate(
        """objectives:
  - {name: left, indicator: budget_remaining, slo: requests-availability,
     pass: [{op: ">=", threshold: 0.5}]}
  - {name: burn, indicator: burn_rate, slo: requests-availability, window: 1h,
     pass: [{op: "<", threshold: 1}]}
  - {name: page, indicator: page_burn, slo: requests-availability,
     pass: [{op: "<", threshold: 1}]}
"""
    )
    # 0.05% errors everywhere: half the budget spent, burn rate 0.5, far from 14.4
    result = evaluate(spec, [SHOP], scope(prometheus(errors=0.005)))
    values = {o.name: o.value for o in result.objectives}
    assert values["left"] == pytest.approx(0.5)
    assert values["burn"] == pytest.approx(0.5)
    assert values["page"] == pytest.approx(0.5 / 6)  # the 6x pair is nearer its factor
    assert "[2592000s]" in result.objectives[0].query  # the 30-day period


def test_unreachable_prometheus_raises_never_a_verdict() -> None:
    with pytest.raises(PrometheusError):
        evaluate(default_gate([SHOP]), [SHOP], scope(prometheus(status=503)))


def test_relative_bounds() -> None:
    assert relative_bound(0.2, "+10%") == pytest.approx(0.22)
    assert relative_bound(0.2, "-5%") == pytest.approx(0.19)
    assert relative_bound(0.001, "+0.001") == pytest.approx(0.002)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("objectives: []", "objectives"),
        (
            "objectives:\n  - {name: a, indicator: sli, pass: [{op: '<', threshold: 1}]}",
            "reads an SLO",
        ),
        (
            "objectives:\n  - {name: a, indicator: query, pass: [{op: '<', threshold: 1}]}",
            "needs a query",
        ),
        (
            "objectives:\n  - {name: a, indicator: query, query: 'sum(', pass: [{op: '<', threshold: 1}]}",
            "PromQL",
        ),
        (
            "objectives:\n  - {name: a, indicator: query, query: x, pass: [{op: '<', relative: '10%'}]}",
            "signed change",
        ),
        (
            "objectives:\n  - {name: a, indicator: query, query: x, pass: [{op: '<'}]}",
            "threshold or relative",
        ),
        ("objectives:\n  - {name: a, indicator: query, query: x}", "at least one pass"),
        (
            "settings: {pass: 50, warn: 60}\nobjectives:\n  - {name: a, indicator: query, query: x,"
            " pass: [{op: '<', threshold: 1}]}",
            "warn score",
        ),
    ],
)
def test_gate_file_mistakes_are_located(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        gate(text)
    assert "gate.yaml:" in str(caught.value) and message in str(caught.value), str(caught.value)


def test_ranges() -> None:
    assert since_range("1h", now=7200.0) == (3600.0, 7200.0)
    assert parse_time("2026-11-25T10:00:00Z", "--start") == 1795600800.0
    assert parse_time("1795600800", "--start") == 1795600800.0
    with pytest.raises(InvalidInput, match="--since"):
        since_range("an hour")
    with pytest.raises(InvalidInput, match="--start"):
        parse_time("yesterday", "--start")


def test_run_range_of_one_run_and_of_a_suite(tmp_path: Path) -> None:
    for name, started, finished in (("a", 100.0, 160.0), ("b", 200.0, 290.0)):
        (tmp_path / name).mkdir()
        journal = {"experiment": name, "started": started, "finished": finished}
        (tmp_path / name / "journal.json").write_text(json.dumps(journal))
    assert run_range(tmp_path / "a") == (100.0, 160.0, ["a"])
    assert run_range(tmp_path) == (100.0, 290.0, ["a", "b"])
    with pytest.raises(InvalidInput, match="no journal.json"):
        run_range(tmp_path / "a" / "nothing")


def test_outputs_cite_the_evidence(tmp_path: Path) -> None:
    result = evaluate(default_gate([SHOP]), [SHOP], scope(prometheus(errors=0.05)))
    text = markdown(result)
    assert text.startswith("## Release gate: ❌ FAIL")
    assert "| requests-availability-sli (key) | ❌ fail | 0.995 |" in text
    write_json(tmp_path / "g.json", result)
    data = json.loads((tmp_path / "g.json").read_text())
    assert data["format"] == "harness-gate/v1" and data["verdict"] == "fail"
    assert data["objectives"][0]["query"].startswith("1 - (")
    write_junit(tmp_path / "g.xml", result)
    xml = (tmp_path / "g.xml").read_text()
    assert 'name="requests-availability-sli"' in xml and "<failure" in xml


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "gate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_cli_mistakes_are_one_line_and_exit_3() -> None:
    for args, message in (
        ((), "give exactly one of --since, --start (with --end), --run"),
        (("--since", "1h", "--run", "runs"), "give exactly one of"),
        (("--since", "soon"), "--since: 'soon' is not a duration"),
        (("--start", "2026-11-25T10:00:00Z", "--end", "2026-11-25T09:00:00Z"), "after --start"),
    ):
        done = cli(*args, "--prometheus", "http://127.0.0.1:9", "slo/shop.yaml")
        assert done.returncode == 3, (args, done.stdout, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_cli_unreachable_prometheus_is_an_error_not_a_verdict() -> None:
    done = cli("--since", "1h", "--prometheus", "http://127.0.0.1:9", "slo/shop.yaml")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "Prometheus at http://127.0.0.1:9 is not ready: no verdict" in done.stderr
