"""`harness dashboards lint`: hand-made bad dashboards, one per rule, and the live rule
against a fake Prometheus (httpx.MockTransport)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from harness.clients.prometheus import PrometheusClient
from harness.dashboards.lint import Board, Finding, lint, load_boards
from harness.dashboards.live import Window, empty_panels
from harness.dashboards.queries import (
    RATE_INTERVAL,
    Unresolved,
    parse,
    rate_ranges,
    substitute,
    with_placeholders,
)
from harness.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
DS = {"type": "prometheus", "uid": "${datasource}"}
DS_VARIABLE = {"name": "datasource", "type": "datasource", "query": "prometheus"}
GOOD_EXPR = (
    'sum by (replica) (rate(http_server_requests_total{service=~"$service"}[$__rate_interval]))'
)


def panel(title: str = "Requests", **changes: Any) -> dict[str, Any]:
    base = {
        "type": "timeseries",
        "title": title,
        "datasource": dict(DS),
        "fieldConfig": {"defaults": {"unit": "reqps"}, "overrides": []},
        "targets": [{"refId": "A", "expr": GOOD_EXPR, "datasource": dict(DS)}],
    }
    return {**base, **changes}


def board(*panels: dict[str, Any], variables: list[dict[str, Any]] | None = None) -> Board:
    chosen = [DS_VARIABLE] if variables is None else variables
    return Board(
        "dash.json", {"title": "D", "templating": {"list": chosen}, "panels": list(panels)}
    )


def rules_of(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


def test_a_good_dashboard_has_no_finding():
    assert lint([board(panel(), {"type": "row", "title": "Row", "panels": []})]) == []


def test_template_datasource_is_required_and_named_datasource():
    missing = lint([board(panel(), variables=[])])
    assert rules_of(missing) == ["template-datasource"]
    assert str(missing[0]).startswith("dash.json: no templated datasource")
    misnamed = lint([board(panel(), variables=[{**DS_VARIABLE, "name": "ds"}])])
    assert rules_of(misnamed) == ["template-datasource"]
    assert 'variable "ds"' in str(misnamed[0])


def test_panel_datasource_must_be_the_variable():
    fixed = lint([board(panel(datasource={"type": "prometheus", "uid": "prometheus"}))])
    assert [str(f) for f in fixed] == [
        "dash.json: panel \"Requests\": datasource is 'prometheus', not $datasource"
    ]
    target = panel(targets=[{"refId": "A", "expr": GOOD_EXPR, "datasource": {"uid": "P1"}}])
    assert rules_of(lint([board(target)])) == ["panel-datasource"]
    unset = panel()
    del unset["datasource"]
    assert "not set" in str(lint([board(unset)])[0])


def test_every_panel_and_row_needs_a_title():
    findings = lint([board(panel(title=""), {"type": "row", "title": "", "id": 7, "panels": []})])
    assert rules_of(findings) == ["panel-title", "panel-title"]
    assert str(findings[1]) == "dash.json: row #7: no title"


def test_every_data_panel_needs_a_known_unit():
    none = panel(fieldConfig={"defaults": {}})
    odd = panel(title="Odd", fieldConfig={"defaults": {"unit": "furlongs"}})
    text = {"type": "text", "title": "Notes"}  # draws no data: no unit needed
    findings = lint([board(none, odd, text)])
    assert [str(f) for f in findings] == [
        'dash.json: panel "Requests": no unit (fieldConfig.defaults.unit)',
        "dash.json: panel \"Odd\": unknown unit 'furlongs'",
    ]


def test_a_data_panel_needs_a_query():
    assert rules_of(lint([board(panel(targets=[]))])) == ["panel-targets"]


def test_queries_and_label_values_variables_must_parse():
    broken = panel(targets=[{"refId": "B", "expr": "sum(rate(x[$__rate_interval])", **{}}])
    findings = lint([board(broken)])
    assert rules_of(findings) == ["target-promql"]
    assert str(findings[0]).startswith('dash.json: panel "Requests": query B does not parse:')
    variable = {
        "name": "svc",
        "type": "query",
        "datasource": DS,
        "query": "label_values(up{job=~}, job)",
    }
    bad_variable = lint([board(panel(), variables=[DS_VARIABLE, variable])])
    assert rules_of(bad_variable) == ["target-promql"]
    assert str(bad_variable[0]).startswith('dash.json: variable "svc": label_values selector')


def test_rates_must_use_rate_interval():
    fixed = panel(targets=[{"refId": "A", "expr": "sum(rate(x[5m])) + sum(irate(y[1m]))"}])
    findings = lint([board(fixed)])
    assert rules_of(findings) == ["target-rate-interval", "target-rate-interval"]
    assert "rate() over a fixed range: use [$__rate_interval]" in str(findings[0])
    allowed = [
        "rate(x[${__rate_interval}])",
        "increase(x[$__range])",  # not a rate: a count over the dashboard's range
        "max_over_time(x[5m])",
    ]
    for expr in allowed:
        assert lint([board(panel(targets=[{"refId": "A", "expr": expr}]))]) == [], expr


def test_job_and_instance_matchers_need_their_variables():
    def job_panel(expr: str) -> dict[str, Any]:
        return panel(targets=[{"refId": "A", "expr": expr}])

    without = lint([board(job_panel('up{job="api"}'))])
    assert [str(f) for f in without] == [
        'dash.json: panel "Requests": query A: matches on job but the dashboard has no $job variable'
    ]
    job = {
        "name": "job",
        "type": "query",
        "datasource": DS,
        "multi": True,
        "query": "label_values(up, job)",
    }
    assert lint([board(job_panel('up{job=~"$job"}'), variables=[DS_VARIABLE, job])]) == []
    fixed_value = lint([board(job_panel('up{job="api"}'), variables=[DS_VARIABLE, job])])
    assert 'matches job without $job (use job=~"$job")' in str(fixed_value[0])
    single = {**job, "multi": False}
    assert "multi-select" in str(
        lint([board(job_panel('up{job=~"$job"}'), variables=[DS_VARIABLE, single])])[0]
    )
    instance = lint([board(job_panel('up{instance=~".+"}'))])
    assert "no $instance variable" in str(instance[0])


def test_panels_folded_into_a_collapsed_row_are_linted():
    row = {
        "type": "row",
        "title": "Folded",
        "collapsed": True,
        "panels": [panel(fieldConfig={"defaults": {}})],
    }
    assert rules_of(lint([board(row)])) == ["panel-units"]


def test_load_boards_reads_folders_and_reports_every_bad_input(tmp_path):
    good = {"title": "D", "panels": []}
    (tmp_path / "a.json").write_text(json.dumps(good))
    (tmp_path / "b.json").write_text(json.dumps({"dashboard": good}))  # the API's wrapper
    assert [Path(b.file).name for b in load_boards([tmp_path])] == ["a.json", "b.json"]
    (tmp_path / "c.json").write_text("{not json")
    (tmp_path / "d.json").write_text(json.dumps({"panels": "nope"}))
    with pytest.raises(InvalidInput) as caught:
        load_boards([tmp_path, tmp_path / "missing.json"])
    messages = [str(i) for i in caught.value.issues]
    assert any("missing.json: no such file" in m for m in messages)
    assert any("c.json: not a JSON file" in m for m in messages)
    assert any("d.json: not a Grafana dashboard" in m for m in messages)


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=ROOT, env=env
    )


def test_cli_exit_codes_0_clean_1_findings_3_bad_input_4_prometheus_unreachable(tmp_path):
    bad = tmp_path / "bad.json"
    broken = board(panel(title="Fixed", targets=[{"refId": "A", "expr": "rate(x[5m])"}]))
    bad.write_text(json.dumps(broken.data))
    clean = harness("dashboards", "lint", "dashboards", "--offline")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "3 dashboards, 0 findings" in clean.stdout
    found = harness("dashboards", "lint", str(bad), "--offline")
    assert found.returncode == 1
    assert f'{bad}: panel "Fixed": query A: rate() over a fixed range' in found.stdout
    missing = harness("dashboards", "lint", str(tmp_path / "nope.json"), "--offline")
    assert missing.returncode == 3 and "no such file or folder" in missing.stderr
    unreachable = harness("dashboards", "lint", "dashboards", "--prometheus", "http://127.0.0.1:9")
    assert unreachable.returncode == 4
    assert "does not answer" in unreachable.stderr


# -- variables in PromQL --------------------------------------------------------------


def test_placeholders_let_the_parser_read_grafana_queries():
    text = with_placeholders('rate(x{a=~"$svc", b="${inst:regex}"}[$__rate_interval]) / $__range_s')
    assert "var_svc" in text and "var_inst" in text and "1000001s" in text
    ((func, window),) = rate_ranges(parse('rate(x{a="[[svc]]"}[$__rate_interval])'))
    assert (func, window) == ("rate", RATE_INTERVAL)
    assert with_placeholders("x[$window]") == "x[1000009s]"
    # label_replace's $1 is not a variable
    assert with_placeholders('label_replace(x, "a", "$1", "b", "(.*)")').count("$1") == 1


def test_substitute_gives_regex_matchers_any_value_and_others_their_current_one():
    current = {"env": "prod"}.get
    promql = substitute(
        'sum(rate(x{service=~"$service", env="$env"}[$__rate_interval])) / $__range_s',
        lambda _n: ".*",
        current,
        {"__rate_interval": "16000ms", "__range_s": "900"},
    )
    assert promql == 'sum(rate(x{service=~".*", env="prod"}[16000ms])) / 900'
    with pytest.raises(Unresolved, match=r"\$zone"):
        substitute('x{zone="$zone"}', lambda _n: ".*", current, {})


# -- the live rule ----------------------------------------------------------------------


class FakePrometheus:
    """Answers range queries: no series for a query naming `missing`, a 400 for `bad(`."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/-/ready":
            return httpx.Response(200, text="ready")
        assert request.url.path == "/api/v1/query_range"
        params = parse_qs(request.url.query.decode())
        query = params["query"][0]
        self.queries.append(query)
        if "bad(" in query:
            body = {"status": "error", "errorType": "bad_data", "error": "parse error"}
            return httpx.Response(400, json=body)
        result = [] if "missing" in query else [{"metric": {"a": "1"}, "values": [[1, "1"]]}]
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "matrix", "result": result}}
        )


def _live(*boards: Board) -> tuple[list[str], FakePrometheus]:
    fake = FakePrometheus()
    http = httpx.Client(transport=httpx.MockTransport(fake), base_url="http://prom")
    with PrometheusClient("http://prom", client=http) as client:
        findings = empty_panels(list(boards), client, Window(1000.0, 1900.0, 15.0, 16.0))
    return [str(f) for f in findings], fake


def test_live_reports_each_empty_panel_in_one_line():
    empty = panel(title="Empty", targets=[{"refId": "A", "expr": "missing_metric"}])
    findings, fake = _live(board(panel(), empty))
    assert findings == ['dash.json: panel "Empty": query returns no series']
    assert fake.queries[0] == (
        'sum by (replica) (rate(http_server_requests_total{service=~".*"}[16000ms]))'
    )


def test_live_names_the_query_of_a_panel_with_several_and_skips_hidden_ones():
    two = panel(
        title="Two",
        targets=[
            {"refId": "A", "expr": "up"},
            {"refId": "B", "expr": "missing_one"},
            {"refId": "C", "expr": "missing_hidden", "hide": True},
        ],
    )
    findings, fake = _live(board(two))
    assert findings == ['dash.json: panel "Two": query returns no series (B)']
    assert "missing_hidden" not in fake.queries


def test_live_reports_a_failing_query_and_an_unresolvable_variable():
    failing = panel(title="Bad", targets=[{"refId": "A", "expr": "bad(up)"}])
    unresolved = panel(title="Zone", targets=[{"refId": "A", "expr": 'up{zone="$zone"}'}])
    findings, _ = _live(board(failing, unresolved))
    assert findings[0].startswith('dash.json: panel "Bad": query fails: Prometheus')
    assert findings[1] == (
        'dash.json: panel "Zone": query cannot be evaluated: $zone has no value to evaluate '
        "the query with"
    )


def test_live_uses_a_variables_current_value_outside_regex_matchers():
    zone = {"name": "zone", "type": "custom", "current": {"text": "eu", "value": "eu"}}
    with_zone = panel(title="Zone", targets=[{"refId": "A", "expr": 'up{zone="$zone"}'}])
    findings, fake = _live(board(with_zone, variables=[DS_VARIABLE, zone]))
    assert findings == [] and fake.queries == ['up{zone="eu"}']


def test_live_reports_a_variable_without_values():
    variable = {
        "name": "service",
        "type": "query",
        "datasource": DS,
        "query": "label_values(missing_total, service)",
    }
    findings, fake = _live(board(panel(), variables=[DS_VARIABLE, variable]))
    assert findings == ['dash.json: variable "service": its query returns no series']
    assert fake.queries[0] == "count by (service) (missing_total)"


def test_the_window_gives_grafanas_time_variables():
    window = Window.last(scrape_seconds=1.0)
    assert window.rate_interval == 16.0  # max(step + scrape, 4 x scrape)
    assert window.times["__rate_interval"] == "16000ms"
    assert window.times["__range"] == "900s"
    assert Window.last(scrape_seconds=15.0).rate_interval == 60.0


def test_the_committed_dashboards_give_the_live_rule_queries_prometheus_can_run():
    boards = load_boards([ROOT / "dashboards"])
    findings, fake = _live(*copy.deepcopy(boards))
    assert findings == []
    assert all("$" not in q for q in fake.queries), [q for q in fake.queries if "$" in q]
    for query in fake.queries:
        parse(query)  # what Prometheus receives is plain PromQL
