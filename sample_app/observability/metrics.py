"""Prometheus metrics: golden signals, saturation and dependency health.

One registry per process (never the global default, never multiprocess mode, so
histogram exemplars work). Label values are bounded: routes are templates, upstreams
are replica names from the topology. No `replica`/`instance`/`job` labels: Prometheus
adds those as target labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

__all__ = [
    "LATENCY_BUCKETS",
    "DependencyMetrics",
    "GaugeCollector",
    "ServerMetrics",
    "current_exemplar",
    "render",
]

LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0,
)  # fmt: skip

Samples = Iterable[tuple[Sequence[str], float]]


def current_exemplar() -> dict[str, str] | None:
    """{"trace_id": hex} of the current sampled span, to link a latency to its trace."""
    ctx = trace.get_current_span().get_span_context()
    if not (ctx.is_valid and ctx.trace_flags.sampled):
        return None
    return {"trace_id": format(ctx.trace_id, "032x")}


# the 5xx codes the services answer with: 500 (a bug), 502/504 (a dependency failed or
# timed out), 503 (shed, or a dependency unavailable)
ERROR_CODES = ("500", "502", "503", "504")


class ServerMetrics:
    """The HTTP server's golden signals plus shedding, for every service."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.service = service
        labels = ["service", "route", "method", "code"]
        self.requests = Counter(
            "http_server_requests", "HTTP requests served.", labels, registry=registry
        )
        self.duration = Histogram(
            "http_server_request_duration_seconds",
            "Time from request received to response sent.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "http_server_requests_in_flight",
            "Requests being served right now.",
            ["service"],
            registry=registry,
        ).labels(service)
        self.shed = Counter(
            "requests_shed", "Requests refused by load shedding.", ["service", "route"],
            registry=registry,
        )  # fmt: skip

    def observe(self, route: str, method: str, code: int, seconds: float) -> None:
        labels = (self.service, route, method, str(code))
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(seconds, exemplar=current_exemplar())

    def declare_route(self, route: str, methods: Iterable[str] = ()) -> None:
        """Zero-valued series per route, so rate() works before the first shed or error:
        a 5xx series born at the first error costs its alert one scrape of detection
        (the first sample's count is never part of an increase)."""
        self.shed.labels(self.service, route)
        for method in methods:
            for code in ERROR_CODES:
                self.requests.labels(self.service, route, method, code)

    def count_shed(self, route: str) -> None:
        self.shed.labels(self.service, route).inc()


class DependencyMetrics:
    """What the gateway sees of its dependencies."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.service = service
        self.duration = Histogram(
            "dependency_request_duration_seconds",
            "Duration of one attempt to call a dependency, by outcome.",
            ["service", "dependency", "upstream", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "dependency_retries", "Retries of dependency calls.", ["service", "dependency"],
            registry=registry,
        )  # fmt: skip
        self.ejections = Counter(
            "outlier_ejections",
            "Replicas taken out of rotation by passive outlier detection.",
            ["service", "dependency", "upstream"],
            registry=registry,
        )
        self.degraded = Counter(
            "degraded_responses",
            "Responses served from a fallback because a dependency failed.",
            ["service", "dependency"],
            registry=registry,
        )

    def declare(self, dependency: str, upstreams: Iterable[str]) -> None:
        """Create the zero-valued series up front so rate() works from the start."""
        self.retries.labels(self.service, dependency)
        self.degraded.labels(self.service, dependency)
        for upstream in upstreams:
            self.ejections.labels(self.service, dependency, upstream)

    def observe(self, dependency: str, upstream: str, outcome: str, seconds: float) -> None:
        self.duration.labels(self.service, dependency, upstream, outcome).observe(
            seconds, exemplar=current_exemplar()
        )


class GaugeCollector(Collector):
    """A gauge computed at scrape time from live state (breakers, pools, bulkheads).

    Reading the state when scraped means the gauge can never be stale or forgotten.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        sample: Callable[[], Samples],
    ) -> None:
        self._name = name
        self._doc = documentation
        self._labelnames = list(labelnames)
        self._sample = sample

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self._name, self._doc, labels=self._labelnames)]

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self._name, self._doc, labels=self._labelnames)
        for labels, value in self._sample():
            family.add_metric(list(labels), value)
        return [family]


def render(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The exposition the scraper asked for: OpenMetrics (with exemplars) or text 0.0.4."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
