"""The report's golden-signal charts and server row follow what each service declares:
a signal a service does not have is one line, never a chart of nothing, and "no data"
says why (not scraped, down, or scraped without such series)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from harness.clients.prometheus import PrometheusClient
from harness.outcome import Outcome, PhaseSpan, ProbeEvaluation
from harness.probes.promql import ProbeResult
from harness.report.golden import ReportSignals, entry_of
from harness.report.html import write_html
from harness.specs.experiment import load_experiment
from harness.specs.topology import Topology, load_topology
from harness.specs.yamlload import parse_model
from tests.unit.test_signals import STACK

ROOT = Path(__file__).resolve().parents[2]
Answer = Callable[[str], list[dict]]


def prometheus(answer: Answer, asked: list[str] | None = None) -> PrometheusClient:
    """A Prometheus whose every query (instant or range) answers `answer(query)`."""

    def handle(request: httpx.Request) -> httpx.Response:
        promql = request.url.params["query"]
        if asked is not None:
            asked.append(promql)
        rows = answer(promql)
        if request.url.path.endswith("query_range"):
            result = [{"metric": r, "values": [[time.time(), "1"]]} for r in rows]
            data = {"resultType": "matrix", "result": result}
        else:
            result = [{"metric": r, "value": [time.time(), r.get("_v", "1")]} for r in rows]
            data = {"resultType": "vector", "result": result}
        return httpx.Response(200, json={"status": "success", "data": data})

    http = httpx.Client(base_url="http://p.test", transport=httpx.MockTransport(handle))
    return PrometheusClient("http://p.test", client=http)


def _topo() -> Topology:
    return parse_model(STACK, "stack.yaml", Topology)


def test_the_shops_charts_are_its_own_metrics_and_its_callers_view():
    shop = ReportSignals.of(load_topology(ROOT / "stack.yaml"))
    assert shop.entry == "gateway"
    specs, absent = shop.charts(["orders"], "5s")
    assert absent == []
    queries = {s.title: s.query for s in specs}
    assert queries["gateway: request rate (Prometheus)"] == (
        'sum(rate(http_server_requests_total{service="gateway"}[5s]))'
    )
    assert queries["orders: request rate per replica (server side)"] == (
        'sum by (replica) (rate(http_server_requests_total{service="orders"}[5s]))'
    )
    assert queries["orders: p99 latency per replica, as its callers saw it"] == (
        "histogram_quantile(0.99, sum by (upstream, le) (rate("
        'dependency_request_duration_seconds_bucket{dependency="orders"}[5s])))'
    )
    assert len(specs) == 6


def test_a_service_without_metrics_gets_its_proxies_traffic_and_one_line():
    topo = load_topology(ROOT / "examples" / "httpbin" / "stack.yaml")
    assert topo.entry_service() is None and entry_of(topo) == "httpbin"
    specs, absent = ReportSignals.of(topo).charts(["httpbin"], "5s")
    assert [s.title for s in specs] == [
        "httpbin: bytes per second through each proxy in front of it (Toxiproxy)"
    ]
    assert 'proxy=~"client_httpbin-1|client_httpbin-2"' in specs[0].query
    assert absent == [
        "httpbin exports no metrics of its own: no request-rate, error-ratio or latency "
        "panel; its traffic is the bytes through its Toxiproxy proxies"
    ]


def test_what_a_service_declares_is_charted_and_what_it_lacks_is_one_line():
    specs, absent = ReportSignals.of(_topo(), "api").charts(["kinto"], "5s")
    titles = [s.title for s in specs]
    assert titles == [
        "api: request rate (Prometheus)",
        "api: error ratio, 5xx (Prometheus)",
        "api: p99 latency (Prometheus)",
        "kinto: request rate per replica (server side)",
        "kinto: 5xx per replica (server side)",
    ]
    assert 'http_server_request_duration_seconds_count{job="api"}' in specs[0].query
    assert "http_server_requests_total" not in " ".join(s.query for s in specs)
    assert absent == ["kinto declares no latency histogram: no latency panel"]


def test_no_series_from_a_scraped_busy_service_says_so_and_not_idle():
    signals = ReportSignals.of(_topo(), "shop")
    up = prometheus(lambda q: [{"_v": "1"}] if q.startswith("max(up") else [])
    why = signals.why_empty(up, "shop", time.time())
    assert why.startswith("Prometheus scrapes shop (up), but it has no such series: it declares")
    assert "the harness convention was assumed" in why and "idle" not in why
    down = prometheus(lambda q: [{"_v": "0"}] if q.startswith("max(up") else [])
    assert "down" in signals.why_empty(down, "shop", time.time())
    assert signals.why_empty(down, "bin", time.time()) == (
        "Prometheus does not scrape bin (it has no metrics_path)"
    )


def test_the_server_row_asks_only_for_what_the_entry_declares():
    asked: list[str] = []
    prom = prometheus(lambda q: [{"_v": "2"}], asked)
    view = ReportSignals.of(_topo(), "kinto").server_view(prom, 100.0, 160.0)
    assert view is not None
    assert view.values == {"requests": 2.0, "error_ratio": 2.0}
    assert view.absent == "kinto declares no latency histogram" and view.empty == ""
    assert asked[0] == 'sum(rate(kinto_requests_total{job="kinto"}[60s])) * 60'
    none = ReportSignals.of(_topo(), "bin").server_view(prom, 100.0, 160.0)
    assert none is not None and none.values == {} and none.absent.startswith("bin exports no")


def test_a_report_for_a_service_without_metrics_has_no_dead_panel(tmp_path):
    topo = load_topology(ROOT / "examples" / "httpbin" / "stack.yaml")
    traffic = [{"proxy": "client_httpbin-1", "direction": "upstream"}]
    prom = prometheus(lambda q: traffic if "toxiproxy_proxy" in q else [])
    now = time.time()
    outcome = Outcome(verdict="held", phases=[PhaseSpan("load", now - 10, now)])
    probe = ProbeResult("ok", "vector(1)", "<", 1.0, 0.0, now - 5, "pass", "")
    outcome.probes.append(ProbeEvaluation("before", probe))
    exp = load_experiment(
        ROOT / "examples" / "httpbin" / "experiments" / "latency-one-replica.yaml"
    )
    page = tmp_path / "report.html"
    write_html(page, exp, outcome, [], prom, "r", now - 10, ["httpbin"], end=now, topo=topo)
    html = page.read_text()
    assert "no such series" not in html and "idle or unscraped" not in html
    assert "no data" not in html
    assert html.count("httpbin exports no metrics of its own: no request-rate") == 1
    assert "httpbin exports no metrics of its own: no server-side view" in html
    assert html.count("<svg") == 2  # the traffic chart and the probe's


def test_a_replica_that_answered_no_5xx_charts_zero_not_no_data():
    # a counter's 5xx series is born at the first 5xx (Kinto's status label): until then
    # the chart is each replica's requests times zero
    topo = load_topology(ROOT / "examples" / "kinto" / "stack.yaml")
    specs, absent = ReportSignals.of(topo).charts(["kinto"], "5s")
    assert absent == []
    five = next(s.query for s in specs if s.title == "kinto: 5xx per replica (server side)")
    errors, _, requests = five.partition(" or 0 * ")
    assert errors.startswith("sum by (replica) (rate(kinto_request_summary_total{")
    assert 'status=~"5.."' in errors and 'status=~"5.."' not in requests
    assert requests.startswith("sum by (replica) (rate(kinto_request_summary_total{")


def test_the_server_row_has_the_p50_and_p99_of_a_declared_histogram():
    topo = load_topology(ROOT / "examples" / "kinto" / "stack.yaml")
    prom = prometheus(lambda q: [{"_v": "0.02"}])
    view = ReportSignals.of(topo).server_view(prom, 100.0, 160.0)
    assert view is not None
    assert set(view.values) == {"requests", "error_ratio", "p50", "p99"}


def test_the_server_row_counts_whole_requests_and_says_they_are_an_estimate(tmp_path):
    # increase() over the run extrapolates: Prometheus says 207.1 requests
    topo = load_topology(ROOT / "examples" / "kinto" / "stack.yaml")
    prom = prometheus(lambda q: [{"_v": "207.1"}] if q.endswith(" * 10") else [])
    now = time.time()
    outcome = Outcome(verdict="held", phases=[PhaseSpan("load", now - 10, now)])
    exp = load_experiment(ROOT / "examples" / "kinto" / "experiments" / "kill-one-replica.yaml")
    page = tmp_path / "report.html"
    write_html(page, exp, outcome, [], prom, "r", now - 10, ["kinto"], end=now, topo=topo)
    html = page.read_text()
    assert "207.1" not in html
    assert ">≈ 207</td>" in html
