"""Golden signals per service: traffic, errors, latency, saturation, replicas.

Each service's queries are what it declares in the topology (`signals:`, harness.specs.
signals): services that share a source of signals (a convention, or the same PromQL)
share one query per panel, selecting them by their label (`service` in the harness
convention, the scrape job otherwise), so a panel has one query per source and a
service answers in the one of its own. A signal no service has is no panel, and each
service's lack is a line of the dashboard's description; services with no request rate
of their own get the bytes through their Toxiproxy proxies. `$service` lists the
services with a request rate (named `$job` when a source selects by the scrape job: a
query on `job` reads a `$job` variable), `$replica` the replicas of the chosen ones;
`replica` is a target label of the scrape; restarts come from the local supervisor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
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
from harness.specs.signals import GoldenSignals, of_service, proxies_into, proxy_bytes
from harness.specs.topology import Topology

__all__ = ["UID", "build"]

UID = "harness-golden-signals"
RATE = "[$__rate_interval]"
WINDOW = "$__rate_interval"
QUANTILES = (0.5, 0.9, 0.99)
_METRIC = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\{\{selector\}")


@dataclass(frozen=True)
class Source:
    """One source of signals (its templates) and the services that have it."""

    signals: GoldenSignals
    services: tuple[str, ...]
    variable: str = "service"  # the dashboard's variable of services

    @property
    def sel(self) -> str:
        return f'{self.signals.label}=~"${self.variable}", replica=~"$replica"'

    def rate(self, signal: str, by: str) -> str | None:
        found = self.signals.query(signal, self.sel, WINDOW)
        return None if found is None else f"sum by ({by}) ({found})"


def _sources(topo: Topology) -> list[Source]:
    """The topology's services grouped by where their signals come from, in file order."""
    groups: dict[GoldenSignals, list[str]] = {}
    for name in topo.services:
        key = replace(of_service(topo, name), service="", assumed=False)
        groups.setdefault(key, []).append(name)
    sources = [Source(k, tuple(v)) for k, v in groups.items() if k.requests or k.latency]
    variable = "job" if any(s.signals.label == "job" for s in sources) else "service"
    return [replace(s, variable=variable) for s in sources]


def _quantile(source: Source, q: float, by: str = "le") -> str | None:
    found = source.rate("latency", by)
    return None if found is None else f"histogram_quantile({q}, {found})"


def _variables(topo: Topology, sources: list[Source]) -> list[dashboard.QueryVariable]:
    names = [n for s in sources for n in s.services]
    services = regex_of(names or list(topo.services))
    metric, label = "up", "job"
    if len(sources) == 1:
        found = _METRIC.search(sources[0].signals.requests or "")
        if found is not None:
            metric, label = found[1], sources[0].signals.label
    variable = sources[0].variable if sources else "service"
    return [
        query_variable(
            variable,
            "Service",
            f'label_values({metric}{{{label}=~"{services}"}}, {label})',
            current=topo.entry_service(),
        ),
        query_variable(
            "replica",
            "Replica",
            f'label_values({metric}{{{label}=~"${variable}"}}, replica)',
        ),
    ]


def _targets(sources: list[Source], build: Any, legend: str, **kw: Any) -> list[Any]:
    """One query per source that has what `build(source)` asks for."""
    return [query(e, legend, **kw) for s in sources if (e := build(s)) is not None]


def _traffic(sources: list[Source]) -> list[Any]:
    has = [s for s in sources if s.signals.requests]
    if not has:
        return []

    def ratio(s: Source) -> str | None:
        errors, total = s.rate("errors", "replica"), s.rate("requests", "replica")
        return None if errors is None else f"({errors} or 0 * {total}) / {total}"

    def by_route(s: Source) -> Any:
        route, code = s.signals.route_label, s.signals.code_label
        found = s.rate("requests", f"{route}, {code}") if route and code else None
        if found is None or route is None or code is None:
            return None
        return query(found, "{{" + route + "}} {{" + code + "}}")

    panels = [
        timeseries_panel(
            "Requests per second",
            "reqps",
            _targets(has, lambda s: s.rate("requests", "replica"), "{{replica}}"),
        )
    ]
    routes = [t for s in has if (t := by_route(s)) is not None]
    if routes:
        panels.append(timeseries_panel("Requests per second by route and code", "reqps", routes))
    errors = _targets(has, ratio, "{{replica}}")
    if errors:
        panels.append(
            timeseries_panel(
                "Error ratio (5xx)",
                "percentunit",
                # a replica with traffic but no 5xx series yet reads 0, never nothing
                errors,
                "Share of requests answered with a 5xx, per replica.",
            ).span(24)
        )
    return panels


def _latency(sources: list[Source]) -> list[Any]:
    has = [s for s in sources if s.signals.latency]
    if not has:
        return []
    quantiles = [
        query(e, f"p{round(q * 100)}", exemplar=True)
        for q in QUANTILES
        for s in has
        if (e := _quantile(s, q)) is not None
    ]
    heat = (
        heatmap.Panel()
        .title("Latency distribution")
        .description("Requests per latency bucket; exemplars link to traces.")
        .unit("s")
        .datasource(DATASOURCE)
        .calculate(False)
        .y_axis(heatmap.YAxisConfig().unit("s"))
        .cell_values(heatmap.CellValues().unit("reqps"))
    )
    for target in _targets(
        has, lambda s: s.rate("latency", "le"), "{{le}}", exemplar=True, heatmap=True
    ):
        heat = heat.with_target(target)
    return [
        timeseries_panel(
            "Latency p50 / p90 / p99",
            "s",
            quantiles,
            "Exemplars link each slow request to its trace.",
        ),
        timeseries_panel(
            "Latency p99 by replica",
            "s",
            _targets(
                has, lambda s: _quantile(s, 0.99, "replica, le"), "{{replica}}", exemplar=True
            ),
        ),
        heat.span(24),
    ]


def _saturation(sources: list[Source]) -> list[Any]:
    def in_flight(s: Source) -> str | None:
        found = s.signals.query("saturation", s.sel, WINDOW)
        return None if found is None else f"sum by (replica) ({found})"

    panels = []
    flight = _targets(sources, in_flight, "{{replica}}")
    if flight:
        panels.append(timeseries_panel("Requests in flight", "short", flight))
    shed = _targets(sources, lambda s: s.rate("shed", "replica"), "{{replica}}")
    if shed:
        panels.append(
            timeseries_panel(
                "Requests shed per second",
                "reqps",
                shed,
                "Requests the load shedder refused (503).",
            )
        )
    return panels


def _proxies(topo: Topology) -> list[Any]:
    """The bytes through the proxies of services with no request rate of their own."""
    bare = [n for n in topo.services if of_service(topo, n).requests is None]
    proxies = [p for n in bare for p in proxies_into(topo, n)]
    if not proxies:
        return []
    return [
        timeseries_panel(
            "Bytes per second through the proxies of services without metrics",
            "Bps",
            [query(proxy_bytes(proxies, WINDOW), "{{proxy}} {{direction}}")],
            f"Toxiproxy's bytes for {', '.join(bare)}: counted when each connection closes.",
        ).span(24)
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
    sources = _sources(topo)
    about = "Traffic, errors, latency and saturation of each service of the topology, per replica."
    lacks = [line for n in topo.services if (line := of_service(topo, n).absent_line())]
    board = new_dashboard("Golden signals", UID, " ".join([about, *(f"{line}." for line in lacks)]))
    for variable in _variables(topo, sources):
        board = board.with_variable(variable)
    for title, panels in (
        ("Traffic and errors", _traffic(sources) + _proxies(topo)),
        ("Latency", _latency(sources)),
        ("Saturation", _saturation(sources)),
        ("Replicas", _replicas()),
    ):
        if not panels:
            continue
        board = board.with_row(dashboard.Row(title))
        for panel in panels:
            board = board.with_panel(panel)
    return finish(board)
