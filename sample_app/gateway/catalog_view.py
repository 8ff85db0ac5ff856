"""The gateway's catalog, with graceful degradation to the last good answers.

The catalog is a dependency the shop can live without for a while: when it fails,
serve the last good product list (and products by id), flagged as degraded and
counted, rather than failing the page.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from sample_app.gateway.dependency import DependencyClient, DependencyError
from sample_app.observability.metrics import DependencyMetrics
from sample_app.resilience.bulkhead import BulkheadFull
from sample_app.resilience.clock import Clock
from sample_app.resilience.deadline import Deadline, DeadlineExceeded

__all__ = ["CatalogView", "Product"]

log = logging.getLogger(__name__)

Product = dict[str, Any]
_CALL_FAILURES = (DependencyError, BulkheadFull, DeadlineExceeded)


class CatalogView:
    def __init__(self, client: DependencyClient, metrics: DependencyMetrics) -> None:
        self._client = client
        self._metrics = metrics
        self._products: list[Product] | None = None  # last good full list
        self._by_id: dict[int, Product] = {}

    async def products(self, deadline: Deadline) -> tuple[list[Product], bool]:
        """(products, degraded)."""
        try:
            response = await self._client.request("GET", "/products", deadline, idempotent=True)
            products = _product_list(response)
        except _CALL_FAILURES as exc:
            if self._products is None:
                raise
            self._degraded("product list", exc)
            return self._products, True
        self._remember_list(products)
        return products, False

    async def product(self, product_id: int, deadline: Deadline) -> tuple[Product | None, bool]:
        """(product or None if unknown, degraded)."""
        path = f"/products/{product_id}"
        try:
            response = await self._client.request("GET", path, deadline, idempotent=True)
            if response.status_code == 404:
                return None, False
            product = _product(response)
        except _CALL_FAILURES as exc:
            if product_id not in self._by_id and self._products is None:
                raise
            self._degraded(f"product {product_id}", exc)
            return self._by_id.get(product_id), True
        self._by_id[product_id] = product
        return product, False

    async def warm(self, clock: Clock, budget: float, every: float) -> None:
        """Fetch the list once at startup (retrying) so degradation has something to serve."""
        while self._products is None:
            try:
                await self.products(Deadline.start(clock, budget))
                return
            except _CALL_FAILURES as exc:
                log.info("catalog not reachable yet for warm-up: %s", exc)
            await asyncio.sleep(every)

    def _remember_list(self, products: list[Product]) -> None:
        self._products = products
        self._by_id = {int(p["id"]): p for p in products}

    def _degraded(self, what: str, exc: Exception) -> None:
        self._metrics.degraded.labels(self._metrics.service, "catalog").inc()
        log.warning("catalog failed (%s): serving last good %s", exc, what)


def _json(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise DependencyError("catalog", "bad_response", f"status {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise DependencyError("catalog", "bad_response", "body is not JSON") from None


def _product(response: httpx.Response) -> Product:
    data = _json(response)
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise DependencyError("catalog", "bad_response", "not a product")
    return data


def _product_list(response: httpx.Response) -> list[Product]:
    data = _json(response)
    products = data.get("products") if isinstance(data, dict) else None
    if not isinstance(products, list) or not all(
        isinstance(p, dict) and isinstance(p.get("id"), int) for p in products
    ):
        raise DependencyError("catalog", "bad_response", "not a product list")
    return products
