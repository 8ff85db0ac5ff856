"""Client-side load balancing over the replicas of one dependency.

Power of two choices: pick two random eligible replicas and take the one with fewer
calls in flight. It avoids the herd effect of "always the least loaded" while
steering away from a slow replica (its calls pile up, so it loses the comparisons).
A replica is eligible when it is ready (active health check), not ejected (passive
outlier detection) and its circuit breaker lets a call through.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from sample_app.resilience.breaker import CircuitBreaker
from sample_app.resilience.outlier import OutlierDetector

__all__ = ["Balancer", "Replica"]


@dataclass(eq=False)
class Replica:
    """One upstream replica and everything we know about its health."""

    name: str
    url: str
    breaker: CircuitBreaker
    outlier: OutlierDetector
    ready: bool = True  # optimistic until the first health check says otherwise
    in_flight: int = field(default=0)

    def in_rotation(self) -> bool:
        """Healthy as far as balancing goes: ready and not ejected."""
        return self.ready and not self.outlier.ejected()

    def eligible(self) -> bool:
        return self.in_rotation() and self.breaker.available()


class Balancer:
    def __init__(self, replicas: Iterable[Replica], rng: random.Random | None = None) -> None:
        self.replicas = list(replicas)
        self._rng = rng or random.Random()  # noqa: S311 - load balancing, not crypto

    def pick(self, exclude: frozenset[str] | set[str] = frozenset()) -> Replica | None:
        """An eligible replica, preferring ones not in `exclude` (already tried).

        The breaker permit is taken here, so a half-open breaker admits one trial.
        Returns None when no replica is eligible.
        """
        eligible = [r for r in self.replicas if r.eligible()]
        fresh = [r for r in eligible if r.name not in exclude]
        chosen = self._two_choices(fresh or eligible)
        if chosen is None or not chosen.breaker.acquire():
            return None
        return chosen

    def _two_choices(self, candidates: list[Replica]) -> Replica | None:
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        a, b = self._rng.sample(candidates, 2)
        return a if a.in_flight <= b.in_flight else b
