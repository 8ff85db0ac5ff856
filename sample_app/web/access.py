"""Per-request observation: metrics, in-flight gauge, one access log line, last-resort 500.

Runs inside the OpenTelemetry server span (FastAPIInstrumentor wraps the whole
middleware stack), so the access line and the latency exemplar carry its trace id.
"""

from __future__ import annotations

import asyncio
import logging

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sample_app.errors import error_response
from sample_app.observability.metrics import ServerMetrics
from sample_app.resilience.clock import Clock
from sample_app.web.routes import PROBE_PATHS, RouteResolver

__all__ = ["AccessMiddleware"]

access_log = logging.getLogger("sample_app.access")
error_log = logging.getLogger("sample_app.errors")

CLIENT_CLOSED = 499  # nginx's convention: the client went away before the answer


class AccessMiddleware:
    def __init__(
        self, app: ASGIApp, metrics: ServerMetrics, routes: RouteResolver, clock: Clock
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        probe = scope["path"] in PROBE_PATHS
        if not probe:
            self.metrics.in_flight.inc()
        start = self.clock.now()
        status = CLIENT_CLOSED
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the last line of defence: JSON 500, logged, traced
            status = 500
            _record_exception(exc)
            if not started:
                await error_response(500, "internal_error", "internal error")(scope, receive, send)
        finally:
            if not probe:
                self.metrics.in_flight.dec()
            self._observe(scope, status, self.clock.now() - start, probe)

    def _observe(self, scope: Scope, status: int, seconds: float, probe: bool) -> None:
        route, method = self.routes.template(scope), scope["method"]
        if not probe:
            self.metrics.observe(route, method, status, seconds)
        access_log.log(
            logging.DEBUG if probe else logging.INFO,
            "%s %s %s",
            method,
            route,
            status,
            extra={
                "route": route,
                "method": method,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
            },
        )


def _record_exception(exc: Exception) -> None:
    error_log.exception("unhandled error: %s", type(exc).__name__)
    span = trace.get_current_span()
    if span.is_recording():
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
