"""A bulkhead: a concurrency limit per dependency with a bounded wait for a slot.

One slow dependency can then hold at most `limit` of our requests; the rest fail
fast instead of queueing behind it and starving calls to healthy dependencies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["Bulkhead", "BulkheadFull"]


class BulkheadFull(Exception):
    """No slot became free within the allowed wait."""


class Bulkhead:
    def __init__(self, name: str, limit: int, max_wait: float) -> None:
        if limit < 1:
            raise ValueError("a bulkhead needs at least one slot")
        self.name = name
        self.limit = limit
        self.max_wait = max_wait
        self._semaphore = asyncio.Semaphore(limit)
        self._in_use = 0

    @property
    def in_use(self) -> int:
        return self._in_use

    @asynccontextmanager
    async def slot(self, wait: float | None = None) -> AsyncIterator[None]:
        """Hold one slot for the block; wait at most min(max_wait, wait) for it."""
        await self._acquire(self.max_wait if wait is None else min(self.max_wait, wait))
        self._in_use += 1
        try:
            yield
        finally:
            self._in_use -= 1
            self._semaphore.release()

    async def _acquire(self, wait: float) -> None:
        if self._semaphore.locked() and wait <= 0:
            raise BulkheadFull(f"bulkhead {self.name} is full ({self.limit} in use)")
        try:
            async with asyncio.timeout(max(wait, 0.0)):
                await self._semaphore.acquire()
        except TimeoutError:
            raise BulkheadFull(f"bulkhead {self.name} is full ({self.limit} in use)") from None
