"""HTTP API of the catalog: list and fetch products, read through a cache when given one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path
from fastapi.responses import JSONResponse

from sample_app.catalog.cache import (
    CacheMetrics,
    ReadThroughCache,
    breaker_gauge,
    log_breaker_change,
    redis_client,
)
from sample_app.catalog.data import PRODUCTS, PRODUCTS_BY_ID
from sample_app.errors import NotFound
from sample_app.resilience.breaker import BreakerConfig, CircuitBreaker
from sample_app.web.app import ServiceContext, create_app

__all__ = ["ProductId", "build_catalog_app", "product_cache"]

ProductId = Annotated[int, Path(ge=1, le=2**31 - 1, description="product id")]


def _product(product_id: int) -> dict[str, Any]:
    product = PRODUCTS_BY_ID.get(product_id)
    if product is None:
        raise NotFound(f"no product {product_id}", "product_not_found")
    return dict(product)


def catalog_router(cache: ReadThroughCache | None) -> APIRouter:
    router = APIRouter()

    async def read(key: str, load: Callable[[], Any]) -> Any:
        return load() if cache is None else await cache.get_or_load(key, load)

    @router.get("/products")
    async def list_products() -> JSONResponse:
        body = await read("catalog:products", lambda: {"products": [dict(p) for p in PRODUCTS]})
        return JSONResponse(body)

    @router.get("/products/{product_id}")
    async def get_product(product_id: ProductId) -> JSONResponse:
        body = await read(f"catalog:product:{product_id}", lambda: _product(product_id))
        return JSONResponse(body)

    return router


def product_cache(ctx: ServiceContext, redis_url: str) -> ReadThroughCache:
    """The catalog's cache, its breaker and metrics, wired from the settings."""
    s = ctx.settings
    config = BreakerConfig(
        consecutive_failures=s.cache_breaker_failures, cooldown=s.seconds("cache_breaker_cooldown")
    )
    breaker = CircuitBreaker(config, ctx.clock, on_change=log_breaker_change)
    ctx.registry.register(breaker_gauge(ctx.service, breaker))
    timeout = s.seconds("cache_timeout")
    return ReadThroughCache(
        redis_client(redis_url, timeout),
        breaker,
        CacheMetrics(ctx.registry, ctx.service),
        ctx.clock,
        ttl=s.seconds("cache_ttl"),
        timeout=timeout,
    )


def build_catalog_app(ctx: ServiceContext, redis_url: str | None = None) -> FastAPI:
    """The catalog's readiness needs nothing: without its cache it still serves."""
    cache = product_cache(ctx, redis_url) if redis_url else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if cache is not None:
            await cache.client.aclose()

    return create_app(ctx, [catalog_router(cache)], readiness=lambda: None, lifespan=lifespan)
