"""Where a service's golden signals come from: conventions, its own PromQL, or none."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InvalidInput
from harness.specs.signals import of_service, proxies_into, proxy_bytes
from harness.specs.topology import Topology, load_topology
from harness.specs.yamlload import parse_model

ROOT = Path(__file__).resolve().parents[2]

STACK = """\
version: harness/v1
services:
  api:
    replicas: 2
    port_base: 25200
    edge_port_base: 25080
    command: {argv: ["{python}", "-m", "api"]}
    metrics_path: /metrics
    signals: {convention: opentelemetry}
  kinto:
    replicas: 2
    port_base: 25300
    edge_port_base: 25380
    command: {argv: ["{python}", "-m", "kinto"]}
    metrics_path: /metrics
    signals:
      requests: 'rate(kinto_requests_total{{selector}}[{window}])'
      errors: 'rate(kinto_requests_total{{selector}, status=~"5.."}[{window}])'
  bin:
    port_base: 25400
    edge_port_base: 25480
    command: {argv: ["{python}", "-m", "bin"]}
  shop:
    port_base: 25500
    command: {argv: ["{python}", "-m", "shop"]}
    metrics_path: /metrics
"""


def _topo(text: str = STACK) -> Topology:
    return parse_model(text, "stack.yaml", Topology)


def test_the_shop_declares_nothing_and_follows_the_harness_convention():
    topo = load_topology(ROOT / "stack.yaml")
    gateway = of_service(topo, "gateway")
    assert (gateway.source, gateway.label, gateway.assumed) == (
        "the harness convention",
        "service",
        True,
    )
    assert gateway.query("requests", gateway.selector(), "5s") == (
        'rate(http_server_requests_total{service="gateway"}[5s])'
    )
    assert gateway.query("errors", gateway.selector("gateway-1"), "1m") == (
        'rate(http_server_requests_total{service="gateway", replica="gateway-1", code=~"5.."}[1m])'
    )
    assert gateway.missing() == [] and gateway.absent_line() == ""


def test_opentelemetry_names_are_the_prometheus_exporters_and_select_by_scrape_job():
    api = of_service(_topo(), "api")
    sel = api.selector("api-1|api-2")
    assert sel == 'job="api", replica=~"api-1|api-2"'
    assert api.query("requests", sel, "5s") == (
        f"rate(http_server_request_duration_seconds_count{{{sel}}}[5s])"
    )
    assert api.query("errors", 'job="api"', "5s") == (
        'rate(http_server_request_duration_seconds_count{job="api", '
        'http_response_status_code=~"5.."}[5s])'
    )
    assert api.query("latency", 'job="api"', "5s") == (
        'rate(http_server_request_duration_seconds_bucket{job="api"}[5s])'
    )
    assert (api.route_label, api.code_label) == ("http_route", "http_response_status_code")
    assert api.query("shed", 'job="api"', "5s") is None  # a harness-only signal


def test_own_promql_fills_selector_and_window_and_says_what_is_missing():
    kinto = of_service(_topo(), "kinto")
    assert kinto.source == "its own PromQL" and kinto.label == "job"
    assert kinto.query("errors", 'job="kinto"', "30s") == (
        'rate(kinto_requests_total{job="kinto", status=~"5.."}[30s])'
    )
    assert kinto.missing() == ["latency"]
    assert kinto.absent_line() == "kinto declares no latency histogram"


def test_an_unscraped_service_has_no_metrics_and_its_proxies_carry_its_traffic():
    topo = _topo()
    bin_ = of_service(topo, "bin")
    assert bin_.source == "no metrics" and not bin_.assumed
    assert bin_.missing() == ["requests", "errors", "latency"]
    assert bin_.absent_line() == "bin exports no metrics of its own"
    assert proxies_into(topo, "bin") == ["client_bin-1"]
    assert proxies_into(topo, "shop") == []  # no edge, nobody calls it
    assert proxy_bytes(["client_bin-1"], "5s") == (
        "sum by (proxy, direction) (rate(toxiproxy_proxy_received_bytes_total"
        '{proxy=~"client_bin-1"}[5s]))'
    )


def test_a_convention_with_a_template_of_its_own_overrides_that_signal():
    text = STACK.replace(
        "signals: {convention: opentelemetry}",
        "signals: {convention: opentelemetry, saturation: 'inflight{{selector}}'}",
    )
    api = of_service(_topo(text), "api")
    assert api.source == "the opentelemetry convention and its own PromQL"
    assert api.query("saturation", 'job="api"', "5s") == 'inflight{job="api"}'
    assert api.query("requests", 'job="api"', "5s") is not None


BAD = [
    (
        "signals: {convention: opentelemetry}",
        "signals: {convention: otel}",
        "stack.yaml:9: services.api.signals.convention: Input should be 'harness', "
        "'opentelemetry' or 'none'",
    ),
    (
        "'rate(kinto_requests_total{{selector}}[{window}])'",
        "'rate(kinto_requests_total{{selector}}[5m])'",
        "stack.yaml:17: services.kinto.signals.requests: no {window}: PromQL of one series per "
        "target (no aggregation; the harness sums it), with {selector} inside a selector's "
        "braces and {window} as the rate window",
    ),
    (
        "'rate(kinto_requests_total{{selector}}[{window}])'",
        "'rate(kinto_requests_total{{selector}}[{window}]) / {service}'",
        "stack.yaml:17: services.kinto.signals.requests: unknown placeholder {service} "
        "(known: selector, window)",
    ),
    (
        "'rate(kinto_requests_total{{selector}}[{window}])'",
        "'rate(kinto_requests_total{{selector}}[{window}]'",
        "stack.yaml:17: services.kinto.signals.requests: not PromQL: ",
    ),
    (
        "signals: {convention: opentelemetry}",
        "signals: {convention: none, latency: 'rate(x{{selector}}[{window}])'}",
        "stack.yaml:9: services.api.signals.latency: convention `none` says the service has "
        "no metrics: drop it",
    ),
    (
        "signals: {convention: opentelemetry}",
        "signals: {code_label: status}",
        "stack.yaml:9: services.api.signals: give a `convention` or at least one signal's PromQL",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD)
def test_a_bad_declaration_names_file_line_and_field(old, new, message):
    assert old in STACK
    with pytest.raises(InvalidInput) as exc:
        _topo(STACK.replace(old, new, 1))
    assert str(exc.value).startswith(message)


def test_every_field_has_a_description():
    from harness.specs.signals import Signals

    assert all(f.description for f in Signals.model_fields.values())


def test_the_httpbin_example_declares_that_it_has_no_metrics():
    topo = load_topology(ROOT / "examples" / "httpbin" / "stack.yaml")
    for service in ("httpbin", "legacy"):
        assert of_service(topo, service).source == "no metrics"
        assert topo.services[service].signals is not None  # said, not assumed
