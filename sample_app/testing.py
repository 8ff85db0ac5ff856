"""In-process fakes: the whole shop without sockets or a database, for tests and demos.

`in_process_shop()` wires a real gateway to a real catalog and an orders app backed
by `MemoryOrderStore`, all through httpx's ASGITransport.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import httpx
from fastapi import FastAPI

from sample_app.catalog.app import build_catalog_app
from sample_app.config import Settings
from sample_app.gateway.app import build_gateway_app
from sample_app.orders.app import orders_router
from sample_app.orders.model import CreateResult, Order, OrderRequest, replay_or_conflict
from sample_app.resilience.deadline import Deadline
from sample_app.web.app import ServiceContext, create_app

__all__ = ["InProcessShop", "MemoryOrderStore", "RoutingTransport", "in_process_shop"]


class MemoryOrderStore:
    """OrderStore semantics (exactly-once per key, conflict on another body) in a dict."""

    def __init__(self) -> None:
        self.by_key: dict[str, Order] = {}
        self.by_id: dict[UUID, Order] = {}

    async def create(self, key: str, request: OrderRequest, deadline: Deadline) -> CreateResult:
        deadline.check()
        digest = request.canonical_hash()
        if key in self.by_key:
            return replay_or_conflict(self.by_key[key], digest)
        order = Order(
            uuid.uuid4(), request.product_id, request.quantity, "created", datetime.now(UTC), digest
        )
        self.by_key[key] = self.by_id[order.id] = order
        return CreateResult(order, replayed=False)

    async def get(self, order_id: UUID, deadline: Deadline) -> Order | None:
        deadline.check()
        return self.by_id.get(order_id)


class RoutingTransport(httpx.AsyncBaseTransport):
    """Sends each request to the transport registered for its host:port."""

    def __init__(self, routes: dict[str, httpx.AsyncBaseTransport]) -> None:
        self.routes = routes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self.routes.get(request.url.netloc.decode())
        if target is None:
            raise httpx.ConnectError(f"no route to {request.url.netloc.decode()}", request=request)
        return await target.handle_async_request(request)


def memory_orders_app(ctx: ServiceContext, store: MemoryOrderStore) -> FastAPI:
    return create_app(ctx, [orders_router(ctx, store, lambda: None)], readiness=lambda: None)


@dataclass
class InProcessShop:
    gateway: FastAPI
    transport: RoutingTransport
    store: MemoryOrderStore
    contexts: dict[str, ServiceContext] = field(default_factory=dict)

    def client(self) -> httpx.AsyncClient:
        """A client of the gateway (no lifespan: health checks do not run)."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.gateway), base_url="http://gateway"
        )


def in_process_shop(settings: Settings | None = None, seed: int = 0) -> InProcessShop:
    """Gateway + catalog-1 + orders-1 wired in memory; upstream hosts are fake addresses."""
    settings = settings or Settings()
    contexts = {
        name: ServiceContext(name.rsplit("-", 1)[0], name, settings)
        for name in ("catalog-1", "orders-1", "gateway-1")
    }
    store = MemoryOrderStore()
    transport = RoutingTransport(
        {
            "catalog-1:8001": httpx.ASGITransport(app=build_catalog_app(contexts["catalog-1"])),
            "orders-1:8002": httpx.ASGITransport(
                app=memory_orders_app(contexts["orders-1"], store)
            ),
        }
    )
    flags = ["catalog-1=http://catalog-1:8001", "orders-1=http://orders-1:8002"]
    gateway = build_gateway_app(contexts["gateway-1"], flags, transport, random.Random(seed))
    return InProcessShop(gateway, transport, store, contexts)
