"""Liveness, readiness and the metrics page: the same three endpoints on every service."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from sample_app.errors import error_response
from sample_app.observability.metrics import render

__all__ = ["probe_router"]

Readiness = Callable[[], str | None]
"""None when ready, else the reason it is not."""


def probe_router(registry: CollectorRegistry, readiness: Readiness) -> APIRouter:
    router = APIRouter()

    @router.get("/health/live")
    async def live() -> JSONResponse:
        """The process answers: nothing else is checked (a restart would not fix more)."""
        return JSONResponse({"status": "alive"})

    @router.get("/health/ready")
    async def ready() -> JSONResponse:
        """Can this replica do work now? Load balancers route by this."""
        reason = readiness()
        if reason is not None:
            return error_response(503, "not_ready", reason)
        return JSONResponse({"status": "ready"})

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        body, content_type = render(registry, request.headers.get("accept"))
        return Response(body, media_type=content_type)

    return router
