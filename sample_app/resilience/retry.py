"""Retry policy: exponential backoff with FULL jitter, bounded by attempts and deadline.

Full jitter (sleep = uniform(0, min(cap, base * 2**attempt))) spreads retries of
many clients over the whole window, which beats "backoff + small jitter" at
breaking up synchronised retry storms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff", "RetryPolicy", "Uniform"]

Uniform = Callable[[float, float], float]
"""uniform(low, high), e.g. `random.Random().uniform`; injected for tests."""


@dataclass(frozen=True)
class Backoff:
    base: float = 0.025
    cap: float = 0.25

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the sleep after failed attempt number `attempt` (0-based)."""
        return min(self.cap, self.base * (2**attempt))

    def delay(self, attempt: int, uniform: Uniform) -> float:
        return uniform(0.0, self.ceiling(attempt))


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how long between them, and when not to bother.

    min_attempt_time: a retry is only worth starting if at least this much budget is
    left after the backoff sleep.
    """

    max_attempts: int = 3
    backoff: Backoff = Backoff()
    min_attempt_time: float = 0.02

    def next_delay(self, failed_attempt: int, remaining: float, uniform: Uniform) -> float | None:
        """Seconds to sleep before the next attempt, or None to give up."""
        if failed_attempt + 1 >= self.max_attempts:
            return None
        delay = self.backoff.delay(failed_attempt, uniform)
        if delay + self.min_attempt_time > remaining:
            return None
        return delay
