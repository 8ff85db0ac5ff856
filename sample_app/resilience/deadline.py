"""Per-request deadline budgets, propagated as remaining milliseconds.

The header carries *remaining* time rather than an absolute timestamp so that hosts
need not agree on the wall clock; each hop re-anchors it on its own monotonic clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sample_app.resilience.clock import Clock

__all__ = [
    "DEADLINE_HEADER",
    "Deadline",
    "DeadlineExceeded",
    "InvalidDeadlineHeader",
    "parse_deadline_header",
]

DEADLINE_HEADER = "X-Request-Deadline-Ms"
_INTEGER = re.compile(r"-?\d{1,12}")


class DeadlineExceeded(Exception):
    """The request's budget ran out before the work could finish."""


class InvalidDeadlineHeader(ValueError):
    """The deadline header is present but not an integer number of milliseconds."""


def parse_deadline_header(value: str | None) -> int | None:
    """Remaining milliseconds from the header, None when absent.

    Zero or negative values are valid: the caller has already given up.
    """
    if value is None:
        return None
    text = value.strip()
    if not _INTEGER.fullmatch(text):
        raise InvalidDeadlineHeader(f"{DEADLINE_HEADER} must be an integer, got {value[:40]!r}")
    return int(text)


@dataclass(frozen=True)
class Deadline:
    """An absolute expiry on an injected monotonic clock."""

    expires_at: float
    clock: Clock

    @classmethod
    def start(cls, clock: Clock, default_budget: float, header_ms: int | None = None) -> Deadline:
        """The budget is our default, or less if the caller asked for less (never more)."""
        budget = default_budget
        if header_ms is not None:
            budget = min(budget, header_ms / 1000.0)
        return cls(clock.now() + budget, clock)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.expires_at - self.clock.now())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def timeout(self, cap: float) -> float:
        """A per-operation timeout: what remains, capped."""
        return min(cap, self.remaining())

    def check(self) -> None:
        """Raise DeadlineExceeded when nothing remains: never start work nobody awaits."""
        if self.expired():
            raise DeadlineExceeded("deadline exceeded")

    def child(self, cap: float) -> Deadline:
        """A deadline for one downstream operation: what remains, capped."""
        return Deadline(self.clock.now() + self.timeout(cap), self.clock)

    def header_value(self) -> str:
        """Remaining whole milliseconds, rounded down so downstream never outlives us."""
        return str(int(self.remaining() * 1000))
