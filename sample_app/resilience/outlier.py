"""Passive outlier ejection: consecutive failures take a replica out for a while.

The ejection period is `base * n` for the n-th ejection (capped), so a replica that
keeps failing stays out longer; the count is forgiven after a long quiet spell.
"""

from __future__ import annotations

from dataclasses import dataclass

from sample_app.resilience.clock import Clock

__all__ = ["OutlierConfig", "OutlierDetector"]


@dataclass(frozen=True)
class OutlierConfig:
    consecutive_failures: int = 3
    base_ejection: float = 2.0
    max_ejection: float = 30.0


class OutlierDetector:
    def __init__(self, config: OutlierConfig, clock: Clock) -> None:
        self.config = config
        self._clock = clock
        self._consecutive = 0
        self._ejections = 0
        self._ejected_until = 0.0

    @property
    def ejections(self) -> int:
        """How many times in a row (without forgiveness) this replica was ejected."""
        return self._ejections

    def ejected(self) -> bool:
        return self._clock.now() < self._ejected_until

    def record_success(self) -> None:
        self._consecutive = 0

    def record_failure(self) -> bool:
        """Count a failure; True when this failure ejects the replica."""
        if self.ejected():
            return False
        self._consecutive += 1
        if self._consecutive < self.config.consecutive_failures:
            return False
        self._eject()
        return True

    def _eject(self) -> None:
        now = self._clock.now()
        if self._ejections and now - self._ejected_until >= self.config.max_ejection:
            self._ejections = 0  # quiet for a long time: forgive past ejections
        self._ejections += 1
        period = min(self.config.max_ejection, self.config.base_ejection * self._ejections)
        self._ejected_until = now + period
        self._consecutive = 0

    def ejection_period(self) -> float:
        """Length of the current (or last) ejection, for logs."""
        return min(self.config.max_ejection, self.config.base_ejection * max(1, self._ejections))
