"""Orders as data: the validated request, its canonical hash, the stored order.

Idempotency semantics live here as pure functions so they are testable without a
database: same key + same request hash = replay; same key + other hash = conflict.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CreateResult",
    "IdempotencyConflict",
    "Order",
    "OrderRequest",
    "replay_or_conflict",
]

MAX_PG_INT = 2**31 - 1


class OrderRequest(BaseModel):
    """The body of POST /orders. Strict: "1" is not an int, unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    product_id: int = Field(ge=1, le=MAX_PG_INT)
    quantity: int = Field(ge=1, le=100)

    def canonical_hash(self) -> str:
        """SHA-256 of the canonical JSON: key order and whitespace do not matter."""
        canonical = json.dumps(self.model_dump(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Order:
    id: UUID
    product_id: int
    quantity: int
    status: str
    created_at: datetime
    request_hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "product_id": self.product_id,
            "quantity": self.quantity,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class CreateResult:
    order: Order
    replayed: bool  # True: the key was seen before and this is the original order


class IdempotencyConflict(Exception):
    """The idempotency key was already used for a different request."""


def replay_or_conflict(existing: Order, request_hash: str) -> CreateResult:
    """What a second POST with a known key gets: the same order, or a conflict."""
    if existing.request_hash != request_hash:
        raise IdempotencyConflict("idempotency key already used with a different request")
    return CreateResult(existing, replayed=True)
