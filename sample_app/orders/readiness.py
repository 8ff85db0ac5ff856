"""Readiness of an orders replica: its database answers `SELECT 1`, checked in the background.

The probe has its own connection (not from the pool), so a busy pool does not read as
an unreachable database. A probe stuck on a blackholed link is abandoned (it unwinds in
the background) and the next one starts on a new connection; at most a few such
stragglers exist at once. The query path can also flip the replica to not ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection

__all__ = ["DatabaseProbe"]

log = logging.getLogger(__name__)

Connect = Callable[[], Awaitable[AsyncConnection[Any]]]
MAX_STRAGGLERS = 3
NOT_CHECKED = "database not checked yet"


class DatabaseProbe:
    def __init__(
        self,
        connect: Connect,
        interval: float,
        timeout: float,
        on_recovered: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._connect = connect
        self.on_recovered = on_recovered  # e.g. replace a pool full of dead connections
        self.interval = interval
        self.timeout = timeout
        self._reason: str | None = NOT_CHECKED
        self._conn: AsyncConnection[Any] | None = None
        self._stragglers: set[asyncio.Task[None]] = set()

    def readiness(self) -> str | None:
        """None when ready, else why not."""
        return self._reason

    def mark_failed(self, reason: str) -> None:
        """The query path saw the database fail: out of rotation until a probe succeeds."""
        self._set(reason)

    async def run(self) -> None:
        while True:
            try:
                await self.check_once()
            except Exception:  # never let the probe loop die: readiness would freeze
                log.exception("database probe failed unexpectedly")
                self._set("database probe error")
            await asyncio.sleep(self.interval)

    async def check_once(self) -> None:
        if len(self._stragglers) >= MAX_STRAGGLERS:
            self._set("database probes are hanging")
            return
        task = asyncio.create_task(self._select_one())
        done, _ = await asyncio.wait({task}, timeout=self.timeout)
        if not done:
            self._conn = None  # the stuck task owns (and will close) that connection
            self._stragglers.add(task)
            task.add_done_callback(self._stragglers.discard)
            task.cancel()
            self._set(f"database did not answer SELECT 1 within {self.timeout:.1f} s")
        elif (exc := task.exception()) is not None:
            self._set(f"database unreachable: {type(exc).__name__}: {exc}".strip())
        else:
            recovering = self._reason not in (None, NOT_CHECKED)
            if recovering and self.on_recovered is not None:
                await self.on_recovered()
            self._set(None)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _select_one(self) -> None:
        conn = self._conn
        try:
            if conn is None or conn.closed:
                conn = self._conn = await self._connect()
            await conn.execute("SELECT 1")
        except BaseException:
            if conn is not None:
                await conn.close()
            if self._conn is conn:
                self._conn = None
            raise

    def _set(self, reason: str | None) -> None:
        if (reason is None) != (self._reason is None):
            if reason is None:
                log.info("ready: database reachable")
            else:
                log.warning("not ready: %s", reason)
        self._reason = reason
