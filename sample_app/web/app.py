"""The app factory every service uses: shared middleware, probes, errors and tracing.

Middleware order, outermost first (inside the OpenTelemetry server span):
access (metrics + log) -> shedding -> body limit -> deadline -> routes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Request
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from starlette.types import Lifespan

from sample_app.config import Settings
from sample_app.errors import install_error_handlers
from sample_app.observability.metrics import ServerMetrics
from sample_app.observability.tracing import instrument_app, make_tracer_provider
from sample_app.resilience.clock import Clock, MonotonicClock
from sample_app.resilience.deadline import Deadline
from sample_app.resilience.shedding import LoadShedder
from sample_app.web.access import AccessMiddleware
from sample_app.web.guards import BodyLimitMiddleware, DeadlineMiddleware, SheddingMiddleware
from sample_app.web.probes import Readiness, probe_router
from sample_app.web.routes import RouteResolver

__all__ = ["ServiceContext", "create_app", "deadline_of"]


@dataclass
class ServiceContext:
    """What every part of one service process shares."""

    service: str
    replica: str
    settings: Settings = field(default_factory=Settings)
    clock: Clock = field(default_factory=MonotonicClock)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    tracer_provider: TracerProvider | None = None

    def __post_init__(self) -> None:
        self.metrics = ServerMetrics(self.registry, self.service)
        if self.tracer_provider is None:
            self.tracer_provider = make_tracer_provider(self.service, self.replica)


def create_app(
    ctx: ServiceContext,
    routers: Iterable[APIRouter],
    readiness: Readiness,
    lifespan: Lifespan[FastAPI] | None = None,
) -> FastAPI:
    app = FastAPI(
        title=f"sample_app {ctx.service}",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    routers = [probe_router(ctx.registry, readiness), *routers]
    # the routers' own routes: FastAPI wraps included routers in objects without `.path`
    resolver = RouteResolver([route for router in routers for route in router.routes])
    methods: dict[str, set[str]] = {}
    for route in (r for router in routers for r in router.routes):
        path = getattr(route, "path", None)
        if isinstance(path, str):
            methods.setdefault(path, set()).update(getattr(route, "methods", None) or ())
    for template in resolver.templates():
        ctx.metrics.declare_route(template, sorted(methods.get(template, ())))
    s = ctx.settings
    app.add_middleware(DeadlineMiddleware, default_budget=s.seconds("deadline"), clock=ctx.clock)
    app.add_middleware(BodyLimitMiddleware, max_bytes=s.max_body_bytes)
    app.add_middleware(
        SheddingMiddleware,
        shedder=LoadShedder(s.max_in_flight),
        metrics=ctx.metrics,
        routes=resolver,
    )
    if s.instrumentation:
        app.add_middleware(AccessMiddleware, metrics=ctx.metrics, routes=resolver, clock=ctx.clock)
    for router in routers:
        app.include_router(router)
    assert ctx.tracer_provider is not None
    if s.instrumentation:
        instrument_app(app, ctx.tracer_provider)
    return app


def deadline_of(request: Request, ctx: ServiceContext) -> Deadline:
    """The request's deadline (set by DeadlineMiddleware), or a fresh default one."""
    deadline = getattr(request.state, "deadline", None)
    if isinstance(deadline, Deadline):
        return deadline
    return Deadline.start(ctx.clock, ctx.settings.seconds("deadline"))
