"""Bounded database work: every query finishes (or is abandoned) within the deadline.

Three bounds stack up: the pool wait (min(cap, remaining)), a per-transaction
`statement_timeout` (the remaining budget), and a client-side wait on a separate task.
The last one matters when the network blackholes: the server-side timeout never
reaches us, and psycopg's own cancellation of a stuck query can take 10 s, so the
request stops waiting while the stuck task is cleaned up in the background.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout, TooManyRequests

from sample_app.config import Settings
from sample_app.resilience.deadline import Deadline, DeadlineExceeded

__all__ = ["Database", "DatabaseBusy", "DatabaseUnavailable"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[AsyncConnection[Any]], Awaitable[T]]

BROKEN_CONNECTION_RETRIES = 2  # a dead pooled connection is replaced, the work re-run


class DatabaseUnavailable(Exception):
    """The database cannot be reached (connection refused, reset or lost)."""


class DatabaseBusy(Exception):
    """No pooled connection became free in time."""


class Database:
    def __init__(
        self,
        url: str,
        settings: Settings,
        name: str,
        on_failure: Callable[[str], None] = lambda _: None,
    ) -> None:
        self._url, self._settings, self._name = url, settings, name
        self._pool_wait = settings.seconds("db_pool_wait")
        self._on_failure = on_failure
        self.max_size = settings.db_pool_max
        self.pool = self._new_pool()
        self._retired: set[asyncio.Task[None]] = set()

    def _new_pool(self) -> AsyncConnectionPool[AsyncConnection[Any]]:
        s = self._settings
        return AsyncConnectionPool(
            self._url,
            min_size=s.db_pool_min,
            max_size=s.db_pool_max,
            open=False,
            name=self._name,
            timeout=self._pool_wait,
            max_waiting=s.db_pool_max * 10,
            reconnect_timeout=10.0,  # give up a failing reconnect early; growth is on demand
            kwargs={
                "connect_timeout": s.db_connect_timeout_s,
                "application_name": self._name,
                "autocommit": True,
            },
        )

    async def open(self) -> None:
        """Start filling the pool in the background: an unreachable DB must not block startup."""
        await self.pool.open(wait=False)

    async def reset(self) -> None:
        """Swap in a fresh pool after an outage, when every pooled connection may be dead.

        Checking them one by one would cost a failed request (or a 1 s pool backoff)
        each; the old pool closes in the background as its connections come back.
        """
        old, self.pool = self.pool, self._new_pool()
        await self.pool.open(wait=False)
        task = asyncio.create_task(old.close(timeout=5.0))
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def close(self) -> None:
        await self.pool.close(timeout=2.0)
        if self._retired:
            await asyncio.wait(self._retired, timeout=2.0)

    def stats(self) -> dict[str, int]:
        return self.pool.get_stats()

    async def run(self, work: Work[T], deadline: Deadline) -> T:
        """`work` in one transaction, bounded by the deadline however the network behaves."""
        deadline.check()
        task = asyncio.create_task(self._with_retries(work, deadline))
        try:
            done, _ = await asyncio.wait({task}, timeout=deadline.remaining())
        except asyncio.CancelledError:
            _abandon(task)
            raise
        if not done:
            _abandon(task)
            raise DeadlineExceeded("the database did not answer within the deadline")
        return task.result()

    async def _with_retries(self, work: Work[T], deadline: Deadline) -> T:
        for attempt in range(BROKEN_CONNECTION_RETRIES + 1):
            try:
                return await self._transaction(work, deadline)
            except _BrokenConnection as exc:
                if attempt == BROKEN_CONNECTION_RETRIES or deadline.expired():
                    self._on_failure(f"database connection lost: {exc.__cause__}")
                    raise DatabaseUnavailable(str(exc.__cause__)) from exc.__cause__
                log.info("retrying on a fresh connection after: %s", exc.__cause__)
        raise AssertionError("unreachable")

    async def _transaction(self, work: Work[T], deadline: Deadline) -> T:
        try:
            wait = max(0.001, min(self._pool_wait, deadline.remaining()))
            async with self.pool.connection(timeout=wait) as conn:
                try:
                    async with conn.transaction():
                        ms = max(1, int(deadline.remaining() * 1000))
                        await conn.execute(
                            "SELECT set_config('statement_timeout', %s, true)", (str(ms),)
                        )
                        return await work(conn)
                except psycopg.errors.QueryCanceled as exc:
                    raise DeadlineExceeded("statement timeout: deadline exceeded") from exc
                except psycopg.OperationalError as exc:
                    if conn.broken or conn.closed:
                        raise _BrokenConnection() from exc
                    raise
        except (PoolTimeout, TooManyRequests, PoolClosed) as exc:
            raise DatabaseBusy(f"no database connection within the budget ({exc})") from exc
        except psycopg.OperationalError as exc:
            self._on_failure(f"database error: {exc}")
            raise DatabaseUnavailable(str(exc)) from exc


class _BrokenConnection(Exception):
    """Internal: the pooled connection was dead; the pool discards it, we may retry."""


def _abandon(task: asyncio.Task[Any]) -> None:
    """Stop waiting for `task`; let it unwind in the background without warnings."""
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
