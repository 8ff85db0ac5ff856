"""Admission guards in front of the routes: load shedding, body size, deadline budget.

Each refuses cheaply, before any work, with a JSON error.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sample_app.errors import PayloadTooLarge, error_response
from sample_app.observability.metrics import ServerMetrics
from sample_app.resilience.clock import Clock
from sample_app.resilience.deadline import (
    DEADLINE_HEADER,
    Deadline,
    InvalidDeadlineHeader,
    parse_deadline_header,
)
from sample_app.resilience.shedding import LoadShedder
from sample_app.web.routes import PROBE_PATHS, RouteResolver

__all__ = ["BodyLimitMiddleware", "DeadlineMiddleware", "SheddingMiddleware"]

# handlers answer their own, more specific errors at the deadline; this net is a backstop
SAFETY_GRACE = 0.05


class SheddingMiddleware:
    """503 + Retry-After when too many requests are in flight (probes are never shed)."""

    def __init__(
        self, app: ASGIApp, shedder: LoadShedder, metrics: ServerMetrics, routes: RouteResolver
    ) -> None:
        self.app, self.shedder, self.metrics, self.routes = app, shedder, metrics, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        if not self.shedder.try_enter():
            self.metrics.count_shed(self.routes.template(scope))
            response = error_response(
                503, "overloaded", "too many requests in flight", {"Retry-After": "1"}
            )
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.shedder.leave()


class BodyLimitMiddleware:
    """413 for bodies over the limit: by Content-Length up front, and on the actual stream.

    The stream check raises PayloadTooLarge from `receive`, so a handler reading the
    body gets it before parsing anything: nothing is half-processed.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            too_big = declared.isdigit()
            status, code = (413, "payload_too_large") if too_big else (400, "bad_content_length")
            message = f"body over {self.max_bytes} bytes" if too_big else "invalid Content-Length"
            await error_response(status, code, message)(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise PayloadTooLarge(f"body over {self.max_bytes} bytes")
            return message

        return limited_receive


class DeadlineMiddleware:
    """Starts the request's deadline from our default and the caller's header.

    The deadline is put in the request state (`request.state.deadline`); a malformed
    header is a 400, an already-expired one a 504 before any work, and a handler still
    running when the budget (plus a small grace) is gone is cancelled with a 504.
    """

    def __init__(self, app: ASGIApp, default_budget: float, clock: Clock) -> None:
        self.app, self.default_budget, self.clock = app, default_budget, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            header_ms = parse_deadline_header(Headers(scope=scope).get(DEADLINE_HEADER))
        except InvalidDeadlineHeader as exc:
            await error_response(400, "bad_deadline", str(exc))(scope, receive, send)
            return
        deadline = Deadline.start(self.clock, self.default_budget, header_ms)
        if deadline.expired():
            await error_response(504, "deadline_exceeded", "deadline already passed")(
                scope, receive, send
            )
            return
        scope.setdefault("state", {})["deadline"] = deadline
        await self._bounded(deadline, scope, receive, send)

    async def _bounded(
        self, deadline: Deadline, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """The safety net: whatever the handler awaits, the answer comes by the deadline."""
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(deadline.remaining() + SAFETY_GRACE):
                await self.app(scope, receive, send_wrapper)
        except TimeoutError:
            if not started:
                response = error_response(504, "deadline_exceeded", "deadline exceeded")
                await response(scope, receive, send)
