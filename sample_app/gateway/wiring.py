"""Assembling the gateway's resilience parts from settings and `--upstream` flags.

Per dependency: one httpx client (its own connection pool), one bulkhead, one
balancer over the replicas, each replica with its own breaker and outlier detector;
one health checker polling them all. Gauges read these objects at scrape time.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from sample_app.background import Background
from sample_app.config import Settings
from sample_app.gateway.catalog_view import CatalogView
from sample_app.gateway.dependency import DependencyClient
from sample_app.gateway.health import HealthChecker
from sample_app.gateway.upstreams import Upstream, group_by_dependency, parse_upstream
from sample_app.observability.metrics import DependencyMetrics, GaugeCollector
from sample_app.observability.tracing import instrument_client
from sample_app.resilience.balancer import Balancer, Replica
from sample_app.resilience.breaker import BreakerConfig, BreakerState, CircuitBreaker
from sample_app.resilience.bulkhead import Bulkhead
from sample_app.resilience.outlier import OutlierConfig, OutlierDetector
from sample_app.resilience.retry import Backoff, RetryPolicy
from sample_app.web.app import ServiceContext

__all__ = ["GatewayParts", "build_parts"]

log = logging.getLogger(__name__)


@dataclass
class GatewayParts:
    clients: dict[str, DependencyClient]
    catalog: CatalogView
    health: HealthChecker
    http_clients: list[httpx.AsyncClient]
    background: Background
    ctx: ServiceContext

    @asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        s = self.ctx.settings
        self.background.start(self.health.run(), "health-checker")
        self.background.start(
            self.catalog.warm(self.ctx.clock, s.seconds("deadline"), every=1.0), "catalog-warm-up"
        )
        try:
            yield
        finally:
            await self.background.stop()
            for client in self.http_clients:
                await client.aclose()


def _on_breaker_change(name: str) -> Callable[[BreakerState, BreakerState], None]:
    def changed(old: BreakerState, new: BreakerState) -> None:
        level = logging.WARNING if new is BreakerState.OPEN else logging.INFO
        log.log(level, "circuit breaker for %s: %s -> %s", name, old.name, new.name)

    return changed


def _retry_policy(s: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=s.retry_attempts,
        backoff=Backoff(base=s.seconds("retry_base"), cap=s.seconds("retry_cap")),
    )


def _replica(upstream: Upstream, ctx: ServiceContext) -> Replica:
    s = ctx.settings
    breaker = BreakerConfig(
        consecutive_failures=s.breaker_failures,
        failure_ratio=s.breaker_ratio,
        window=s.breaker_window,
        min_calls=s.breaker_min_calls,
        cooldown=s.seconds("breaker_cooldown"),
    )
    outlier = OutlierConfig(
        consecutive_failures=s.outlier_failures,
        base_ejection=s.seconds("outlier_base_ejection"),
        max_ejection=s.seconds("outlier_max_ejection"),
    )
    return Replica(
        upstream.name,
        upstream.url,
        CircuitBreaker(breaker, ctx.clock, _on_breaker_change(upstream.name)),
        OutlierDetector(outlier, ctx.clock),
    )


def _http_client(s: Settings, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    """Keep-alive shorter than uvicorn's (5 s), so we never reuse a socket it is closing."""
    limits = httpx.Limits(
        max_connections=s.bulkhead_limit + 8,
        max_keepalive_connections=s.bulkhead_limit,
        keepalive_expiry=2.0,
    )
    return httpx.AsyncClient(
        limits=limits,
        timeout=s.seconds("attempt_timeout"),
        transport=transport,
        trust_env=False,
        follow_redirects=False,
    )


def build_parts(
    ctx: ServiceContext,
    upstream_flags: list[str],
    transport: httpx.AsyncBaseTransport | None = None,
    rng: random.Random | None = None,
) -> GatewayParts:
    s = ctx.settings
    rng = rng or random.Random()  # noqa: S311 - jitter and balancing, not crypto
    groups = group_by_dependency(parse_upstream(flag) for flag in upstream_flags)
    metrics = DependencyMetrics(ctx.registry, ctx.service)
    clients: dict[str, DependencyClient] = {}
    http_clients: list[httpx.AsyncClient] = []
    for dependency, upstreams in groups.items():
        metrics.declare(dependency, [u.name for u in upstreams])
        http = _http_client(s, transport)
        assert ctx.tracer_provider is not None
        if s.instrumentation:
            instrument_client(http, ctx.tracer_provider)
        http_clients.append(http)
        clients[dependency] = DependencyClient(
            dependency,
            Balancer([_replica(u, ctx) for u in upstreams], rng),
            Bulkhead(dependency, s.bulkhead_limit, s.seconds("bulkhead_wait")),
            http,
            attempt_timeout=s.seconds("attempt_timeout"),
            retry=_retry_policy(s),
            metrics=metrics,
            clock=ctx.clock,
            uniform=rng.uniform,
        )
    probe_http = httpx.AsyncClient(transport=transport, trust_env=False)
    http_clients.append(probe_http)
    replicas = [r for c in clients.values() for r in c.balancer.replicas]
    health = HealthChecker(
        replicas, probe_http, s.seconds("health_interval"), s.seconds("health_timeout")
    )
    _register_gauges(ctx, clients)
    catalog = CatalogView(clients["catalog"], metrics)
    return GatewayParts(clients, catalog, health, http_clients, Background(), ctx)


def _register_gauges(ctx: ServiceContext, clients: dict[str, DependencyClient]) -> None:
    svc = ctx.service

    def per_replica(value: Callable[[Replica], float]) -> Callable[[], list]:
        return lambda: [
            ((svc, dep, r.name), value(r))
            for dep, c in clients.items()
            for r in c.balancer.replicas
        ]

    def per_dependency(value: Callable[[DependencyClient], float]) -> Callable[[], list]:
        return lambda: [((svc, dep), value(c)) for dep, c in clients.items()]

    replica_labels = ["service", "dependency", "upstream"]
    for collector in (
        GaugeCollector(
            "circuit_breaker_state", "Breaker state: 0 closed, 1 half-open, 2 open.",
            replica_labels, per_replica(lambda r: int(r.breaker.state)),
        ),
        GaugeCollector(
            "upstream_healthy", "1 in rotation, 0 not ready or ejected.",
            replica_labels, per_replica(lambda r: int(r.in_rotation())),
        ),
        GaugeCollector(
            "bulkhead_in_use", "Bulkhead slots taken.", ["service", "dependency"],
            per_dependency(lambda c: c.bulkhead.in_use),
        ),
        GaugeCollector(
            "bulkhead_limit", "Bulkhead size.", ["service", "dependency"],
            per_dependency(lambda c: c.bulkhead.limit),
        ),
    ):  # fmt: skip
        ctx.registry.register(collector)
