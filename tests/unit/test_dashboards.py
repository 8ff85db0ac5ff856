"""Dashboards as code: the committed JSON is what the topology generates, and holds its rules.

Golden files: dashboards/*.json and dashboards/provisioning/* (regenerate with
`harness dashboards generate`). The builders work for any topology: a made-up one with
other services, replicas and links gets its own names and nothing of the shop's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from harness.dashboards import chaos, golden_signals, provisioning, slos
from harness.dashboards.files import dashboard_files, dashboards
from harness.dashboards.lint import Board, lint
from harness.specs.topology import load_topology
from sample_app.observability.metrics import current_exemplar

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "dashboards"


def _topo():
    return load_topology(ROOT / "stack.yaml")


def _panels(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in data["panels"] if p["type"] != "row"]


def _exprs(data: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in _panels(data) for t in p.get("targets", [])]


def test_committed_dashboards_are_what_the_topology_generates():
    files = dashboard_files(_topo())
    assert set(files) == {
        "golden-signals.json",
        "slos.json",
        "chaos.json",
        "provisioning/datasources.yaml",
        "provisioning/dashboards.yaml",
    }
    for rel, text in files.items():
        path = OUT / rel
        assert path.exists() and path.read_text() == text, (
            f"{path} is stale: run `harness dashboards generate`"
        )


def test_generate_check_exits_1_on_a_stale_file_and_0_once_written(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "COLUMNS": "200"}
        cmd = [sys.executable, "-m", "harness", "dashboards", "generate", *args]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)

    out = tmp_path / "boards"
    stale = run("--out", str(out), "--check")
    assert stale.returncode == 1 and "chaos.json is not what" in stale.stderr
    assert run("--out", str(out)).returncode == 0
    assert run("--out", str(out), "--check").returncode == 0
    (out / "slos.json").write_text("{}\n")
    again = run("--out", str(out), "--check")
    assert (
        again.returncode == 1 and "slos.json" in again.stderr and "chaos.json" not in again.stderr
    )


def test_every_generated_dashboard_passes_the_lint():
    boards = [Board(name, data) for name, data in dashboards(_topo()).items()]
    assert lint(boards) == []


def test_every_panel_has_a_unit_a_title_and_the_datasource_variable():
    for name, data in dashboards(_topo()).items():
        for panel in _panels(data):
            assert panel["title"], name
            assert panel["fieldConfig"]["defaults"]["unit"], (name, panel["title"])
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
        variable = data["templating"]["list"][0]
        assert (variable["name"], variable["type"], variable["query"]) == (
            "datasource",
            "datasource",
            "prometheus",
        )


def test_every_rate_runs_over_rate_interval():
    for data in dashboards(_topo()).values():
        for expr in _exprs(data):
            for window in re.findall(r"\brate\([^\[]*\[([^\]]+)\]", expr):
                assert window == "$__rate_interval", expr


def test_golden_signals_has_service_and_replica_query_variables():
    data = golden_signals.build(_topo())
    variables = {v["name"]: v for v in data["templating"]["list"]}
    service, replica = variables["service"], variables["replica"]
    assert service["type"] == replica["type"] == "query"
    assert service["query"] == (
        'label_values(http_server_requests_total{service=~"gateway|catalog|orders"}, service)'
    )
    assert service["current"]["value"] == "gateway"  # the topology's entry service
    assert replica["query"].startswith("label_values(") and '"$service"' in replica["query"]
    assert all(v["datasource"]["uid"] == "${datasource}" for v in (service, replica))


def test_golden_signals_panels_cover_the_four_signals_and_replicas():
    data = golden_signals.build(_topo())
    titles = {p["title"]: p for p in _panels(data)}
    for title in (
        "Requests per second",
        "Error ratio (5xx)",
        "Latency p50 / p90 / p99",
        "Latency distribution",
        "Requests in flight",
        "Requests shed per second",
        "Replicas up",
        "Restarts",
    ):
        assert title in titles, title
    quantiles = [t["expr"] for t in titles["Latency p50 / p90 / p99"]["targets"]]
    assert [q.split(",")[0] for q in quantiles] == [
        "histogram_quantile(0.5",
        "histogram_quantile(0.9",
        "histogram_quantile(0.99",
    ]
    assert titles["Latency distribution"]["type"] == "heatmap"
    assert titles["Latency distribution"]["targets"][0]["format"] == "heatmap"
    assert "harness_component_restarts_total" in titles["Restarts"]["targets"][0]["expr"]


def test_latency_panels_ask_for_exemplars():
    data = golden_signals.build(_topo())
    latency = [p for p in _panels(data) if "atency" in p["title"]]
    assert len(latency) == 3
    for panel in latency:
        assert all(t.get("exemplar") is True for t in panel["targets"]), panel["title"]


def test_slo_dashboard_has_a_row_per_slo_with_sloth_recordings():
    data = slos.build(_topo())
    assert data is not None
    rows = [p["title"] for p in data["panels"] if p["type"] == "row"]
    assert rows == ["shop / requests-availability (99.9%)", "shop / requests-latency (99%)"]
    exprs = "\n".join(_exprs(data))
    for sid in ("shop-requests-availability", "shop-requests-latency"):
        assert f'slo:sli_error:ratio_rate5m{{sloth_id="{sid}"}}' in exprs
        assert f'slo:objective:ratio{{sloth_id="{sid}"}}' in exprs
        assert f'slo:period_error_budget_remaining:ratio{{sloth_id="{sid}"}}' in exprs
        assert f'ALERTS{{sloth_id="{sid}", alertstate="firing"}}' in exprs
    assert "ratio_rate(5m|30m|1h|2h|6h|1d|3d)" in exprs


def test_burn_rate_thresholds_are_the_alerts_factors():
    data = slos.build(_topo())
    assert data is not None
    burn = next(p for p in _panels(data) if p["title"] == "Burn rate per window")
    steps = [s["value"] for s in burn["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, 1.0, 3.0, 6.0, 14.4]


def test_chaos_dashboard_reads_toxiproxy_supervisor_breakers_and_degradation():
    data = chaos.build(_topo())
    exprs = "\n".join(_exprs(data))
    for metric in (
        "toxiproxy_proxy_sent_bytes_total",
        "toxiproxy_proxy_received_bytes_total",
        "harness_component_running",
        "harness_component_restarts_total",
        "dependency_request_duration_seconds_count",
        "circuit_breaker_state",
        "degraded_responses_total",
    ):
        assert metric in exprs, metric
    proxies = {lk.name for lk in _topo().links}
    assert all(name in exprs for name in proxies)


def test_every_dashboard_shows_the_chaos_annotations():
    for data in dashboards(_topo()).values():
        (annotation,) = data["annotations"]["list"]
        assert annotation["datasource"] == {"type": "grafana", "uid": "-- Grafana --"}
        assert annotation["target"]["type"] == "tags"
        assert annotation["target"]["tags"] == ["chaos"]
        assert annotation["enable"] is True


def test_panel_ids_and_ref_ids_are_stable_and_unique():
    for data in dashboards(_topo()).values():
        ids = [p["id"] for p in data["panels"]]
        assert ids == list(range(1, len(ids) + 1))
        for panel in _panels(data):
            refs = [t["refId"] for t in panel["targets"]]
            assert refs == [chr(ord("A") + i) for i in range(len(refs))]


OTHER = """
version: harness/v1
toxiproxy: {port: 25474}
prometheus: {port: 25090}
alertmanager: {port: 25093, receiver_port: 25094}
supervisor: {metrics_port: 25100}
services:
  api:
    replicas: 2
    port_base: 25200
    edge_port_base: 25080
    depends_on: [worker]
    command: {argv: ["{python}", "-m", "api", "--port", "{port}"]}
    metrics_path: /metrics
  worker:
    replicas: 3
    port_base: 25300
    proxy_port_base: 25350
    command: {argv: ["{python}", "-m", "worker", "--port", "{port}"]}
"""


def test_any_topology_gets_its_own_services_replicas_and_links(tmp_path):
    path = tmp_path / "stack.yaml"
    path.write_text(OTHER)
    topo = load_topology(path)
    built = dashboards(topo)
    assert set(built) == {"golden-signals.json", "chaos.json"}  # no SLO files: no SLO board
    text = json.dumps(built)
    for shop in ("gateway", "catalog", "orders", "postgres", "shop"):
        assert shop not in text, shop
    service = built["golden-signals.json"]["templating"]["list"][1]
    assert '{service=~"api"}' in service["query"]  # only the scraped service
    assert service["current"]["value"] == "api"
    chaos_exprs = "\n".join(_exprs(built["chaos.json"]))
    assert "client_api-1|client_api-2" in chaos_exprs
    assert "api_worker-1|api_worker-2|api_worker-3" in chaos_exprs
    assert "worker-1|worker-2|worker-3" in chaos_exprs  # the supervisor's replicas
    assert lint([Board(n, d) for n, d in built.items()]) == []


def test_slo_dashboard_follows_the_topologys_slo_files(tmp_path):
    spec = tmp_path / "checkout.yaml"
    spec.write_text(
        "version: prometheus/v1\nservice: checkout\nslos:\n"
        "  - name: ok\n    objective: 99.5\n"
        "    sli: {events: {error_query: 'sum(rate(e[{{.window}}]))',"
        " total_query: 'sum(rate(t[{{.window}}]))'}}\n"
        "    alerting: {name: CheckoutOk, page_alert: {disable: true}}\n"
    )
    stack = yaml.safe_load(OTHER)
    stack["slo"] = {"files": [str(spec)]}
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(stack))
    data = slos.build(load_topology(path))
    assert data is not None
    assert [p["title"] for p in data["panels"] if p["type"] == "row"] == ["checkout / ok (99.5%)"]
    states = next(p for p in _panels(data) if p["title"] == "Alert states")
    expr = states["targets"][0]["expr"]
    assert '"sloth_severity", "ticket"' in expr and '"page"' not in expr  # page disabled


def test_datasources_link_exemplar_trace_ids_to_jaeger():
    config = provisioning.datasources(_topo())
    prom, jaeger = config["datasources"]
    assert prom["uid"] == provisioning.PROMETHEUS_UID and prom["type"] == "prometheus"
    assert prom["url"] == f"http://prometheus:{_topo().prometheus.port}"
    assert prom["jsonData"]["timeInterval"] == _topo().prometheus.scrape_interval
    (destination,) = prom["jsonData"]["exemplarTraceIdDestinations"]
    assert destination == {"name": "trace_id", "datasourceUid": jaeger["uid"]}
    assert (jaeger["type"], jaeger["url"]) == ("jaeger", "http://jaeger:16686")


def test_the_exemplar_label_is_the_one_the_sample_app_writes():
    context = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with trace.use_span(NonRecordingSpan(context)):
        exemplar = current_exemplar()
    assert exemplar == {provisioning.EXEMPLAR_LABEL: "4bf92f3577b34da6a3ce929d0e0e4736"}


def test_the_dashboard_provider_reads_the_mounted_folder():
    (provider,) = provisioning.providers()["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == provisioning.DASHBOARDS_DIR
    assert provider["folder"] == provisioning.FOLDER == "chaos-harness"


def test_each_service_is_charted_from_its_own_signals_and_its_lack_is_one_line(tmp_path):
    from tests.unit.test_signals import STACK

    path = tmp_path / "stack.yaml"
    path.write_text(STACK)
    board = golden_signals.build(load_topology(path))
    text = json.dumps(board)
    assert "http_server_requests_total" in text  # `shop` is scraped and declares nothing
    variable = board["templating"]["list"][1]
    assert variable["query"] == 'label_values(up{job=~"api|kinto|shop"}, job)'
    panels = {p["title"]: p for p in _panels(board)}
    assert variable["name"] == "job"  # a query on `job` reads a $job variable
    rps = [t["expr"] for t in panels["Requests per second"]["targets"]]
    assert rps == [
        "sum by (replica) (rate(http_server_request_duration_seconds_count"
        '{job=~"$job", replica=~"$replica"}[$__rate_interval]))',
        'sum by (replica) (rate(kinto_requests_total{job=~"$job", replica=~"$replica"}'
        "[$__rate_interval]))",
        'sum by (replica) (rate(http_server_requests_total{service=~"$job", '
        'replica=~"$replica"}[$__rate_interval]))',
    ]
    routes = panels["Requests per second by route and code"]["targets"]
    assert routes[0]["legendFormat"] == "{{http_route}} {{http_response_status_code}}"
    assert len(panels["Latency p99 by replica"]["targets"]) == 2  # kinto has no histogram
    bytes_panel = panels["Bytes per second through the proxies of services without metrics"]
    assert 'proxy=~"client_bin-1"' in bytes_panel["targets"][0]["expr"]
    assert "kinto declares no latency histogram." in board["description"]
    assert "bin exports no metrics of its own." in board["description"]
    assert lint([Board("golden-signals.json", board)]) == []


def test_a_topology_without_metrics_gets_no_dead_panel(tmp_path):
    path = tmp_path / "stack.yaml"
    path.write_text((ROOT / "examples" / "httpbin" / "stack.yaml").read_text())
    board = golden_signals.build(load_topology(path))
    titles = [p["title"] for p in _panels(board)]
    assert titles == [
        "Bytes per second through the proxies of services without metrics",
        "Replicas up",
        "Restarts in range",
        "Restarts",
    ]
    assert "http_server" not in json.dumps(board)


def test_the_chaos_board_has_a_callers_view_only_where_a_caller_reports_its_calls(tmp_path):
    path = tmp_path / "stack.yaml"
    path.write_text((ROOT / "examples" / "httpbin" / "stack.yaml").read_text())
    board = chaos.build(load_topology(path))
    exprs = "\n".join(_exprs(board))
    for metric in ("dependency_request_duration_seconds", "circuit_breaker_state", "degraded"):
        assert metric not in exprs, metric
    assert "Callers" not in [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert board["description"].endswith("no callers' view.")
    assert lint([Board("chaos.json", board)]) == []
