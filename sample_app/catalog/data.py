"""The seeded product list (in code: the catalog has no database to lose)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = ["PRODUCTS", "PRODUCTS_BY_ID"]

_ROWS = [
    (1, "TEA-001", "Sencha green tea, 100 g", 850),
    (2, "TEA-002", "Assam black tea, 250 g", 1190),
    (3, "COF-001", "Espresso beans, 1 kg", 2490),
    (4, "COF-002", "Filter coffee, 500 g", 1290),
    (5, "MUG-001", "Stoneware mug", 1500),
    (6, "MUG-002", "Double-walled glass", 1850),
    (7, "KET-001", "Gooseneck kettle", 5900),
    (8, "GRN-001", "Hand grinder", 4500),
    (9, "FLT-001", "Paper filters x100", 490),
    (10, "PRS-001", "French press, 1 l", 3200),
    (11, "SCL-001", "Brewing scale", 2900),
    (12, "TIN-001", "Airtight tin", 1100),
]

PRODUCTS: tuple[MappingProxyType[str, Any], ...] = tuple(
    MappingProxyType({"id": pid, "sku": sku, "name": name, "price_cents": price, "currency": "EUR"})
    for pid, sku, name, price in _ROWS
)
PRODUCTS_BY_ID: MappingProxyType[int, MappingProxyType[str, Any]] = MappingProxyType(
    {int(p["id"]): p for p in PRODUCTS}
)
