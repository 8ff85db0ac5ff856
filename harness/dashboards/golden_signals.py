"""Golden signals per service: traffic, errors, latency, saturation, replicas.

`$service` lists the topology's scraped services (those with a `metrics_path`) that
report requests; `$replica` the replicas of the chosen services. Metric names are the
project's conventions (DESIGN, "Names and conventions"): `http_server_requests_total`,
`http_server_request_duration_seconds` with `service`, `route`, `method`, `code`;
`replica` is a target label of the scrape; restarts come from the local supervisor.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import dashboard, heatmap

from harness.dashboards.common import (
    DATASOURCE,
    finish,
    new_dashboard,
    query,
    query_variable,
    regex_of,
    stat_panel,
    timeseries_panel,
)
from harness.specs.topology import Topology

__all__ = ["UID", "build"]

UID = "harness-golden-signals"
SEL = 'service=~"$service", replica=~"$replica"'
RATE = "[$__rate_interval]"
QUANTILES = (0.5, 0.9, 0.99)


def _rate(metric: str, by: str, extra: str = "") -> str:
    matchers = f"{SEL}, {extra}" if extra else SEL
    return f"sum by ({by}) (rate({metric}{{{matchers}}}{RATE}))"


def _quantile(q: float, by: str = "le") -> str:
    return f"histogram_quantile({q}, {_rate('http_server_request_duration_seconds_bucket', by)})"


def _variables(topo: Topology) -> list[dashboard.QueryVariable]:
    scraped = [n for n, s in topo.services.items() if s.metrics_path] or list(topo.services)
    services = regex_of(scraped)
    return [
        query_variable(
            "service",
            "Service",
            f'label_values(http_server_requests_total{{service=~"{services}"}}, service)',
            current=topo.entry_service(),
        ),
        query_variable(
            "replica",
            "Replica",
            'label_values(http_server_requests_total{service=~"$service"}, replica)',
        ),
    ]


def _traffic() -> list[Any]:
    total = "http_server_requests_total"
    errors = _rate(total, "replica", 'code=~"5.."')
    return [
        timeseries_panel(
            "Requests per second", "reqps", [query(_rate(total, "replica"), "{{replica}}")]
        ),
        timeseries_panel(
            "Requests per second by route and code",
            "reqps",
            [query(_rate(total, "route, code"), "{{route}} {{code}}")],
        ),
        timeseries_panel(
            "Error ratio (5xx)",
            "percentunit",
            # a replica with traffic but no 5xx series yet reads 0, never nothing
            [
                query(
                    f"({errors} or 0 * {_rate(total, 'replica')}) / {_rate(total, 'replica')}",
                    "{{replica}}",
                )
            ],
            "Share of requests answered with a 5xx, per replica.",
        ).span(24),
    ]


def _latency() -> list[Any]:
    bucket = "http_server_request_duration_seconds_bucket"
    return [
        timeseries_panel(
            "Latency p50 / p90 / p99",
            "s",
            [query(_quantile(q), f"p{round(q * 100)}", exemplar=True) for q in QUANTILES],
            "Exemplars link each slow request to its trace.",
        ),
        timeseries_panel(
            "Latency p99 by replica",
            "s",
            [query(_quantile(0.99, "replica, le"), "{{replica}}", exemplar=True)],
        ),
        heatmap.Panel()
        .title("Latency distribution")
        .description("Requests per latency bucket; exemplars link to traces.")
        .unit("s")
        .datasource(DATASOURCE)
        .calculate(False)
        .y_axis(heatmap.YAxisConfig().unit("s"))
        .cell_values(heatmap.CellValues().unit("reqps"))
        .with_target(query(_rate(bucket, "le"), "{{le}}", exemplar=True, heatmap=True))
        .span(24),
    ]


def _saturation() -> list[Any]:
    return [
        timeseries_panel(
            "Requests in flight",
            "short",
            [query(f"sum by (replica) (http_server_requests_in_flight{{{SEL}}})", "{{replica}}")],
        ),
        timeseries_panel(
            "Requests shed per second",
            "reqps",
            [query(_rate("requests_shed_total", "replica"), "{{replica}}")],
            "Requests the load shedder refused (503).",
        ),
    ]


def _replicas() -> list[Any]:
    restarts = 'harness_component_restarts_total{component=~"$replica"}'
    return [
        stat_panel(
            "Replicas up",
            "short",
            query('sum(up{replica=~"$replica"})', "up"),
            "Replicas Prometheus scraped successfully at the last scrape.",
        ).span(6),
        stat_panel(
            "Restarts in range",
            "short",
            query(f"sum(increase({restarts}[$__range]))", "restarts"),
            "Restarts by the local supervisor (harness_component_restarts_total).",
        ).span(6),
        timeseries_panel(
            "Restarts",
            "short",
            [query(f"sum by (component) (increase({restarts}{RATE}))", "{{component}}")],
        ),
    ]


def build(topo: Topology) -> dict[str, Any]:
    board = new_dashboard(
        "Golden signals",
        UID,
        "Traffic, errors, latency and saturation of each service of the topology, per replica.",
    )
    for variable in _variables(topo):
        board = board.with_variable(variable)
    for title, panels in (
        ("Traffic and errors", _traffic()),
        ("Latency", _latency()),
        ("Saturation", _saturation()),
        ("Replicas", _replicas()),
    ):
        board = board.with_row(dashboard.Row(title))
        for panel in panels:
            board = board.with_panel(panel)
    return finish(board)
