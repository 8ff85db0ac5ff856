"""Orders in PostgreSQL: parameterised SQL only, exactly-once by a UNIQUE key.

INSERT ... ON CONFLICT DO NOTHING makes concurrent duplicates safe: a second
transaction with the same key waits for the first to commit, inserts nothing, then
reads the winner's row.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol
from uuid import UUID

from psycopg import AsyncConnection

from sample_app.orders.database import Database
from sample_app.orders.model import CreateResult, Order, OrderRequest, replay_or_conflict
from sample_app.resilience.deadline import Deadline

__all__ = ["OrderStore", "PostgresOrderStore"]

_COLUMNS = "id, product_id, quantity, status, created_at, request_hash"
_INSERT = f"""
INSERT INTO orders (id, idempotency_key, request_hash, product_id, quantity)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING {_COLUMNS}
"""  # noqa: S608 - constant column list, values are parameters
_BY_KEY = f"SELECT {_COLUMNS} FROM orders WHERE idempotency_key = %s"  # noqa: S608
_BY_ID = f"SELECT {_COLUMNS} FROM orders WHERE id = %s"  # noqa: S608


class OrderStore(Protocol):
    """What the HTTP layer needs; an in-memory fake implements it in tests."""

    async def create(self, key: str, request: OrderRequest, deadline: Deadline) -> CreateResult: ...

    async def get(self, order_id: UUID, deadline: Deadline) -> Order | None: ...


def _order(row: tuple[Any, ...]) -> Order:
    return Order(*row)


class PostgresOrderStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, key: str, request: OrderRequest, deadline: Deadline) -> CreateResult:
        digest = request.canonical_hash()
        params = (uuid.uuid4(), key, digest, request.product_id, request.quantity)

        async def work(conn: AsyncConnection[Any]) -> CreateResult:
            row = await (await conn.execute(_INSERT, params)).fetchone()
            if row is not None:
                return CreateResult(_order(row), replayed=False)
            row = await (await conn.execute(_BY_KEY, (key,))).fetchone()
            if row is None:  # ON CONFLICT saw a committed row, so it exists unless deleted
                raise RuntimeError("order with a conflicting key vanished")
            return replay_or_conflict(_order(row), digest)

        return await self._db.run(work, deadline)

    async def get(self, order_id: UUID, deadline: Deadline) -> Order | None:
        async def work(conn: AsyncConnection[Any]) -> Order | None:
            row = await (await conn.execute(_BY_ID, (order_id,))).fetchone()
            return None if row is None else _order(row)

        return await self._db.run(work, deadline)
