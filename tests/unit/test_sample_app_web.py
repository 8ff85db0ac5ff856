"""Shared web plumbing: load shedding, the deadline safety net, degraded responses."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sample_app.config import Settings
from sample_app.testing import in_process_shop
from sample_app.web.app import ServiceContext, create_app

pytestmark = pytest.mark.anyio


def blocking_app(settings: Settings, release: asyncio.Event, entered: asyncio.Event):
    router = APIRouter()

    @router.get("/slow")
    async def slow() -> JSONResponse:
        entered.set()
        await release.wait()
        return JSONResponse({"ok": True})

    ctx = ServiceContext("catalog", "catalog-1", settings)
    return ctx, create_app(ctx, [router], readiness=lambda: None)


async def test_requests_beyond_the_in_flight_limit_are_shed_with_retry_after():
    release, entered = asyncio.Event(), asyncio.Event()
    ctx, app = blocking_app(Settings(max_in_flight=1), release, entered)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        first = asyncio.create_task(c.get("/slow"))
        async with asyncio.timeout(5):
            await entered.wait()
        shed = await c.get("/slow")
        probe = await c.get("/health/live")  # probes are never shed
        release.set()
        assert (await first).status_code == 200
    assert shed.status_code == 503
    assert shed.headers["Retry-After"] == "1"
    assert shed.json()["error"]["code"] == "overloaded"
    assert probe.status_code == 200
    labels = {"service": "catalog", "route": "/slow"}
    assert ctx.registry.get_sample_value("requests_shed_total", labels) == 1


async def test_a_handler_still_running_at_the_deadline_is_answered_504():
    release, entered = asyncio.Event(), asyncio.Event()
    _, app = blocking_app(Settings(), release, entered)
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        start = loop.time()
        response = await c.get("/slow", headers={"X-Request-Deadline-Ms": "50"})
        elapsed = loop.time() - start
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "deadline_exceeded"
    assert elapsed < 1.0


async def test_catalog_outage_serves_the_last_good_list_marked_degraded():
    shop = in_process_shop()
    async with shop.client() as client:
        fresh = await client.get("/products")
        catalog = shop.transport.routes.pop("catalog-1:8001")  # the catalog goes away
        stale = await client.get("/products")
        one = await client.get("/products/2")
        order = await client.post(
            "/orders", json={"product_id": 2, "quantity": 1}, headers={"Idempotency-Key": "d"}
        )
        unknown = await client.post(
            "/orders", json={"product_id": 77, "quantity": 1}, headers={"Idempotency-Key": "e"}
        )
        shop.transport.routes["catalog-1:8001"] = catalog
    assert fresh.json()["degraded"] is False and "X-Degraded" not in fresh.headers
    assert stale.status_code == 200
    assert stale.json()["degraded"] is True and stale.headers["X-Degraded"] == "catalog"
    assert stale.json()["products"] == fresh.json()["products"]
    assert one.status_code == 200 and one.json()["degraded"] is True
    assert order.status_code == 201 and order.headers["X-Degraded"] == "catalog"
    assert unknown.status_code == 404
    registry = shop.contexts["gateway-1"].registry
    labels = {"service": "gateway", "dependency": "catalog"}
    assert registry.get_sample_value("degraded_responses_total", labels) == 4


async def test_orders_outage_is_a_json_503_not_a_500():
    shop = in_process_shop()
    async with shop.client() as client:
        shop.transport.routes.pop("orders-1:8002")
        response = await client.post(
            "/orders", json={"product_id": 2, "quantity": 1}, headers={"Idempotency-Key": "f"}
        )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "orders_unavailable"
