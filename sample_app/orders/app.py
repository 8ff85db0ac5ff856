"""HTTP API of orders: POST /orders (idempotent by key), GET /orders/{order_id}."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from sample_app.background import Background
from sample_app.errors import Conflict, NotFound, ServiceUnavailable
from sample_app.observability.metrics import GaugeCollector
from sample_app.orders.database import Database, DatabaseBusy, DatabaseUnavailable
from sample_app.orders.model import IdempotencyConflict, OrderRequest
from sample_app.orders.readiness import DatabaseProbe
from sample_app.orders.store import OrderStore, PostgresOrderStore
from sample_app.web.app import ServiceContext, create_app, deadline_of
from sample_app.web.body import read_model, require_idempotency_key
from sample_app.web.probes import Readiness

__all__ = ["build_orders_app", "orders_router"]

REPLAYED_HEADER = "Idempotent-Replayed"


def orders_router(ctx: ServiceContext, store: OrderStore, readiness: Readiness) -> APIRouter:
    router = APIRouter()

    def require_ready() -> None:
        """Fail fast while the database is known to be unreachable: no doomed waits."""
        reason = readiness()
        if reason is not None:
            raise ServiceUnavailable(reason, "database_unavailable")

    @router.post("/orders")
    async def create_order(request: Request) -> JSONResponse:
        key = require_idempotency_key(request)
        order_request = await read_model(request, OrderRequest)
        require_ready()
        try:
            result = await store.create(key, order_request, deadline_of(request, ctx))
        except IdempotencyConflict as exc:
            raise Conflict(str(exc), "idempotency_key_reused") from None
        except (DatabaseUnavailable, DatabaseBusy) as exc:
            raise ServiceUnavailable(str(exc), "database_unavailable") from None
        if result.replayed:
            return JSONResponse(result.order.to_json(), headers={REPLAYED_HEADER: "true"})
        return JSONResponse(result.order.to_json(), status_code=201)

    @router.get("/orders/{order_id}")
    async def get_order(order_id: UUID, request: Request) -> JSONResponse:
        require_ready()
        try:
            order = await store.get(order_id, deadline_of(request, ctx))
        except (DatabaseUnavailable, DatabaseBusy) as exc:
            raise ServiceUnavailable(str(exc), "database_unavailable") from None
        if order is None:
            raise NotFound(f"no order {order_id}", "order_not_found")
        return JSONResponse(order.to_json())

    return router


def _register_pool_gauges(ctx: ServiceContext, db: Database) -> None:
    """Pool saturation read from psycopg_pool's stats at scrape time."""

    def in_use() -> list[tuple[list[str], float]]:
        stats = db.stats()
        return [([ctx.service], stats["pool_size"] - stats["pool_available"])]

    def waiting() -> list[tuple[list[str], float]]:
        return [([ctx.service], db.stats().get("requests_waiting", 0))]

    for collector in (
        GaugeCollector("db_pool_in_use", "Connections checked out.", ["service"], in_use),
        GaugeCollector(
            "db_pool_size",
            "Largest pool size.",
            ["service"],
            lambda: [([ctx.service], db.max_size)],
        ),
        GaugeCollector(
            "db_pool_waiting", "Requests waiting for a connection.", ["service"], waiting
        ),
    ):
        ctx.registry.register(collector)


def build_orders_app(ctx: ServiceContext, database_url: str) -> FastAPI:
    s = ctx.settings

    async def connect() -> AsyncConnection[Any]:
        return await AsyncConnection.connect(
            database_url,
            autocommit=True,
            connect_timeout=s.db_connect_timeout_s,
            application_name=f"{ctx.replica}-probe",
        )

    probe = DatabaseProbe(connect, s.seconds("db_check_interval"), s.seconds("db_check_timeout"))
    db = Database(database_url, s, ctx.replica, on_failure=probe.mark_failed)
    probe.on_recovered = db.reset  # after an outage, start from fresh connections
    _register_pool_gauges(ctx, db)
    background = Background()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await db.open()
        background.start(probe.run(), "database-probe")
        try:
            yield
        finally:
            await background.stop()
            await probe.close()
            await db.close()

    router = orders_router(ctx, PostgresOrderStore(db), probe.readiness)
    return create_app(ctx, [router], readiness=probe.readiness, lifespan=lifespan)
