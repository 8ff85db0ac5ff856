"""HTTP API of the gateway, the shop's public entry."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from sample_app.catalog.app import ProductId
from sample_app.errors import NotFound, error_response
from sample_app.gateway.catalog_view import CatalogView
from sample_app.gateway.dependency import DependencyClient, DependencyError
from sample_app.gateway.wiring import GatewayParts, build_parts
from sample_app.orders.model import OrderRequest
from sample_app.web.app import ServiceContext, create_app, deadline_of
from sample_app.web.body import IDEMPOTENCY_HEADER, read_model, require_idempotency_key

__all__ = ["build_gateway_app", "gateway_router"]

DEGRADED_HEADER = "X-Degraded"
_RELAYED_HEADERS = ("Idempotent-Replayed", "Retry-After")
_STATUS_OF_FAILURE = {"unavailable": 503, "timeout": 504, "bad_response": 502}


def _json(
    body: Any, degraded: bool, status: int = 200, extra: Mapping[str, str] = {}
) -> JSONResponse:
    headers = {**extra, **({DEGRADED_HEADER: "catalog"} if degraded else {})}
    return JSONResponse(body, status_code=status, headers=headers)


def _relay(response: httpx.Response, degraded: bool = False) -> JSONResponse:
    """The dependency's answer, passed on as JSON (anything else is a bad gateway)."""
    try:
        body = response.json()
    except ValueError:
        raise DependencyError("orders", "bad_response", "body is not JSON") from None
    extra = {h: response.headers[h] for h in _RELAYED_HEADERS if h in response.headers}
    return _json(body, degraded, response.status_code, extra)


def gateway_router(
    ctx: ServiceContext, catalog: CatalogView, orders: DependencyClient
) -> APIRouter:
    router = APIRouter()

    @router.get("/products")
    async def list_products(request: Request) -> JSONResponse:
        products, degraded = await catalog.products(deadline_of(request, ctx))
        return _json({"products": products, "degraded": degraded}, degraded)

    @router.get("/products/{product_id}")
    async def get_product(product_id: ProductId, request: Request) -> JSONResponse:
        product, degraded = await catalog.product(product_id, deadline_of(request, ctx))
        if product is None:
            raise NotFound(f"no product {product_id}", "product_not_found")
        return _json({**product, "degraded": degraded}, degraded)

    @router.post("/orders")
    async def create_order(request: Request) -> JSONResponse:
        key = require_idempotency_key(request)
        order = await read_model(request, OrderRequest)
        deadline = deadline_of(request, ctx)
        product, degraded = await catalog.product(order.product_id, deadline)
        if product is None:
            raise NotFound(f"no product {order.product_id}", "product_not_found")
        response = await orders.request(
            "POST", "/orders", deadline, json=order.model_dump(),
            headers={IDEMPOTENCY_HEADER: key}, idempotent=True,  # the key makes it safe
        )  # fmt: skip
        return _relay(response, degraded)

    @router.get("/orders/{order_id}")
    async def get_order(order_id: UUID, request: Request) -> JSONResponse:
        deadline = deadline_of(request, ctx)
        response = await orders.request("GET", f"/orders/{order_id}", deadline, idempotent=True)
        return _relay(response)

    return router


async def _on_dependency_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DependencyError)
    status = _STATUS_OF_FAILURE[exc.kind]
    headers = {"Retry-After": "1"} if status == 503 else None
    return error_response(status, f"{exc.dependency}_{exc.kind}", str(exc), headers)


def build_gateway_app(
    ctx: ServiceContext,
    upstream_flags: list[str],
    transport: httpx.AsyncBaseTransport | None = None,
    rng: random.Random | None = None,
) -> FastAPI:
    """The gateway; `transport` and `rng` are injectable so tests need no network."""
    parts: GatewayParts = build_parts(ctx, upstream_flags, transport, rng)
    router = gateway_router(ctx, parts.catalog, parts.clients["orders"])
    app = create_app(ctx, [router], readiness=lambda: None, lifespan=parts.lifespan)
    app.add_exception_handler(DependencyError, _on_dependency_error)
    app.state.parts = parts  # for tests and debugging
    return app
