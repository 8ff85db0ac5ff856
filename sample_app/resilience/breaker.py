"""A circuit breaker per upstream replica: closed -> open -> half-open -> closed.

Trips on N consecutive failures or on a failure ratio over a sliding window of
recent calls (so a replica failing every other call trips too). While open it
fails fast; after the cool-down exactly one trial call is let through.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sample_app.resilience.clock import Clock

__all__ = ["BreakerConfig", "BreakerState", "CircuitBreaker"]


class BreakerState(enum.IntEnum):
    """Values are the `circuit_breaker_state` gauge's."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass(frozen=True)
class BreakerConfig:
    consecutive_failures: int = 5
    failure_ratio: float = 0.5
    window: int = 20
    min_calls: int = 10
    cooldown: float = 5.0


class CircuitBreaker:
    """State machine; callers ask `acquire()` before a call and report its outcome."""

    def __init__(
        self,
        config: BreakerConfig,
        clock: Clock,
        on_change: Callable[[BreakerState, BreakerState], None] | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._consecutive = 0
        self._outcomes: deque[bool] = deque(maxlen=config.window)
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """Current state; an open breaker whose cool-down passed reads as half-open."""
        if (
            self._state is BreakerState.OPEN
            and self._clock.now() - self._opened_at >= self.config.cooldown
        ):
            self._move(BreakerState.HALF_OPEN)
        return self._state

    def available(self) -> bool:
        """Would a call be allowed now? (Does not take the half-open trial.)"""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        return state is BreakerState.HALF_OPEN and not self._trial_in_flight

    def acquire(self) -> bool:
        """Permission for one call; in half-open this takes the single trial slot."""
        if not self.available():
            return False
        if self._state is BreakerState.HALF_OPEN:
            self._trial_in_flight = True
        return True

    def abandon(self) -> None:
        """The permitted call was cancelled with no verdict: free the trial slot."""
        self._trial_in_flight = False

    def record_success(self) -> None:
        self._trial_in_flight = False
        self._consecutive = 0
        if self._state is BreakerState.HALF_OPEN:
            self._outcomes.clear()
            self._move(BreakerState.CLOSED)
            return
        self._outcomes.append(True)

    def record_failure(self) -> None:
        self._trial_in_flight = False
        if self._state is BreakerState.HALF_OPEN:
            self._trip()
            return
        if self._state is BreakerState.OPEN:
            return  # a straggler from before the trip
        self._consecutive += 1
        self._outcomes.append(False)
        if self._consecutive >= self.config.consecutive_failures or self._ratio_exceeded():
            self._trip()

    def _ratio_exceeded(self) -> bool:
        calls = len(self._outcomes)
        if calls < self.config.min_calls:
            return False
        failures = calls - sum(self._outcomes)
        return failures / calls >= self.config.failure_ratio

    def _trip(self) -> None:
        self._opened_at = self._clock.now()
        self._consecutive = 0
        self._outcomes.clear()
        self._move(BreakerState.OPEN)

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if old is not new and self._on_change is not None:
            self._on_change(old, new)
