"""HTTP API of the catalog: list and fetch products."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path
from fastapi.responses import JSONResponse

from sample_app.catalog.data import PRODUCTS, PRODUCTS_BY_ID
from sample_app.errors import NotFound
from sample_app.web.app import ServiceContext, create_app

__all__ = ["ProductId", "build_catalog_app"]

ProductId = Annotated[int, Path(ge=1, le=2**31 - 1, description="product id")]


def catalog_router() -> APIRouter:
    router = APIRouter()

    @router.get("/products")
    async def list_products() -> JSONResponse:
        return JSONResponse({"products": [dict(p) for p in PRODUCTS]})

    @router.get("/products/{product_id}")
    async def get_product(product_id: ProductId) -> JSONResponse:
        product = PRODUCTS_BY_ID.get(product_id)
        if product is None:
            raise NotFound(f"no product {product_id}", "product_not_found")
        return JSONResponse(dict(product))

    return router


def build_catalog_app(ctx: ServiceContext) -> FastAPI:
    """The catalog has no dependencies: once it answers, it is ready."""
    return create_app(ctx, [catalog_router()], readiness=lambda: None)
