"""Chaos: what is being hurt right now, and how the system copes.

The harness's journal is not in Prometheus, and Toxiproxy exports no toxic state: only
bytes per proxy and direction (`toxiproxy_proxy_received_bytes_total`, `..._sent_...`,
with `-proxy-metrics`), and it counts a connection's bytes when the connection ends —
received always, sent only when every byte was delivered. So a link's bytes show its
short connections (pooled keep-alive ones when they close), and received minus sent is
what connections broken by a fault (a reset, a cut) lost. Faults are read from their
effects: upstream replicas whose calls fail, links losing bytes, components the
supervisor does not run, replicas Prometheus cannot scrape; and around them the callers'
view (breakers, degraded answers, upstream latency) where a calling service reports its
calls (the harness convention, harness.specs.signals), else no such panel and one line
in the description. Experiments mark their fault windows as Grafana annotations tagged
`chaos`. Links and replicas are the topology's.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import dashboard

from harness.dashboards.common import (
    finish,
    new_dashboard,
    query,
    regex_of,
    stat_panel,
    thresholds,
    timeline,
    timeseries_panel,
)
from harness.specs.signals import of_service
from harness.specs.topology import Topology

__all__ = ["UID", "build"]

UID = "harness-chaos"
RATE = "[$__rate_interval]"
CALLS = "dependency_request_duration_seconds"
BREAKER = {"0": ("closed", "green"), "1": ("half-open", "yellow"), "2": ("open", "red")}
UP = {"0": ("down", "red"), "1": ("up", "green")}
BAD = thresholds((None, "green"), (1, "red"))
_CALLERS_STATS = ("Upstreams failing", "Breakers not closed")
_NO_CALLERS = (
    " No calling service reports its calls (dependency_request_duration_seconds): no callers' view."
)


def _bytes(direction: str, proxies: str) -> str:
    return (
        f"sum by (proxy) (rate(toxiproxy_proxy_{direction}_bytes_total"
        f'{{proxy=~"{proxies}"}}{RATE}))'
    )


def _lost(proxies: str) -> str:
    """Received minus sent per link; a link with no `sent` series yet (its only closed
    connections broke) counts as having sent nothing."""
    received = _bytes("received", proxies)
    return f"{received} - ({_bytes('sent', proxies)} or 0 * {received})"


def _reports_calls(topo: Topology) -> bool:
    """A service that calls others reports its calls as the harness convention does."""
    return any(
        of_service(topo, name).calls == CALLS
        for name, spec in topo.services.items()
        if any(dep in topo.services for dep in spec.depends_on)
    )


def _active(topo: Topology) -> list[Any]:
    proxies = regex_of(lk.name for lk in topo.links)
    replicas = regex_of(r.name for r in topo.replicas)
    failing = f'sum by (upstream) (rate({CALLS}_count{{outcome!="success"}}{RATE})) > 0'
    callers = _reports_calls(topo)
    counts = (
        ("Upstreams failing", failing, "Upstream replicas whose callers see failed calls."),
        ("Links losing bytes", f"{_lost(proxies)} > 0", "Proxies whose connections broke."),
        (
            "Components not running",
            "harness_component_running == 0",
            "Components the local supervisor does not have running (killed, restarting).",
        ),
        (
            "Replicas not scraped",
            f'up{{replica=~"{replicas}"}} == 0',
            "Replicas whose last scrape failed (killed, paused, partitioned).",
        ),
        ("Breakers not closed", "circuit_breaker_state > 0", "Circuit breakers not closed."),
        ("Alerts firing", 'ALERTS{alertstate="firing"}', "Every alert Prometheus has firing."),
    )
    return [
        stat_panel(title, "short", query(f"count({expr}) or vector(0)", title), about)
        .thresholds(BAD)
        .span(4)
        for title, expr, about in counts
        if callers or title not in _CALLERS_STATS
    ]


def _links(topo: Topology) -> list[Any]:
    proxies = regex_of(lk.name for lk in topo.links)
    return [
        timeseries_panel(
            "Bytes per link",
            "Bps",
            [query(_bytes("sent", proxies), "{{proxy}}")],
            "Bytes each Toxiproxy proxy delivered, both directions, counted as its "
            "connections end (pooled connections only when they close).",
        ),
        timeseries_panel(
            "Bytes lost per link",
            "Bps",
            [query(_lost(proxies), "{{proxy}}")],
            "Received minus delivered: bytes of connections a fault broke (reset, cut).",
        ),
    ]


def _processes(topo: Topology) -> list[Any]:
    launched = regex_of(r.name for r in topo.launched)
    replicas = regex_of(r.name for r in topo.replicas)
    return [
        timeline(
            "Replica processes (supervisor)",
            query(f'harness_component_running{{component=~"{launched}"}}', "{{component}}"),
            UP,
            "Whether the local supervisor has each replica's process running.",
        ),
        timeline(
            "Replica scrapes",
            query(f'up{{replica=~"{replicas}"}}', "{{replica}}"),
            UP,
            "Whether Prometheus could scrape each replica (a paused one is running but down).",
        ),
        timeseries_panel(
            "Restarts",
            "short",
            [
                query(
                    "sum by (component) (increase(harness_component_restarts_total"
                    f'{{component=~"{launched}"}}{RATE}))',
                    "{{component}}",
                )
            ],
            "Restarts by the local supervisor (a killed replica comes back).",
        ).span(24),
    ]


def _callers() -> list[Any]:
    p99 = f"histogram_quantile(0.99, sum by (upstream, le) (rate({CALLS}_bucket{RATE})))"
    return [
        timeline(
            "Circuit breakers",
            query(
                "max by (service, upstream) (circuit_breaker_state)", "{{service}} → {{upstream}}"
            ),
            BREAKER,
            "Each caller's breaker per upstream replica.",
        ),
        timeseries_panel(
            "Degraded responses per second",
            "reqps",
            [
                query(
                    f"sum by (service, dependency) (rate(degraded_responses_total{RATE}))",
                    "{{service}} without {{dependency}}",
                )
            ],
            "Answers served from a fallback because a dependency failed.",
        ),
        timeseries_panel(
            "Upstream calls by outcome",
            "reqps",
            [
                query(
                    f"sum by (upstream, outcome) (rate({CALLS}_count{RATE}))",
                    "{{upstream}} {{outcome}}",
                )
            ],
            "Attempts to call each upstream replica, by outcome, as the callers saw them.",
        ),
        timeseries_panel(
            "Upstream latency p99",
            "s",
            [query(p99, "{{upstream}}", exemplar=True)],
            "What an injected latency costs the callers, per upstream replica.",
        ),
    ]


def build(topo: Topology) -> dict[str, Any]:
    callers = _reports_calls(topo)
    board = new_dashboard(
        "Chaos",
        UID,
        "Faults read from their effects (callers, Toxiproxy, supervisor, scrapes), the "
        "callers' view, and the experiments' annotations (tag chaos)."
        + ("" if callers else _NO_CALLERS),
    )
    for title, panels in (
        ("Active faults", _active(topo)),
        ("Toxiproxy links", _links(topo)),
        ("Processes", _processes(topo)),
        ("Callers", _callers() if callers else []),
    ):
        if not panels:
            continue
        board = board.with_row(dashboard.Row(title))
        for panel in panels:
            board = board.with_panel(panel)
    return finish(board)
