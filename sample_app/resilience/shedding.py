"""Load shedding: refuse work beyond a concurrency limit instead of queueing it.

Past saturation a queue only adds latency to every request; answering some
quickly with 503 + Retry-After keeps the rest within their deadlines.
"""

from __future__ import annotations

__all__ = ["LoadShedder"]


class LoadShedder:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the in-flight limit must be at least 1")
        self.limit = limit
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def try_enter(self) -> bool:
        """Admit one request, or refuse (False) when `limit` are already in flight."""
        if self._in_flight >= self.limit:
            return False
        self._in_flight += 1
        return True

    def leave(self) -> None:
        self._in_flight -= 1
