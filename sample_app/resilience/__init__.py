"""Resilience primitives: pure, clock-injected, unit-testable without sleeping.

Nothing here knows about HTTP status codes; the web layer maps the exceptions.
"""

from sample_app.resilience.balancer import Balancer, Replica
from sample_app.resilience.breaker import BreakerConfig, BreakerState, CircuitBreaker
from sample_app.resilience.bulkhead import Bulkhead, BulkheadFull
from sample_app.resilience.clock import Clock, FakeClock, MonotonicClock
from sample_app.resilience.deadline import (
    DEADLINE_HEADER,
    Deadline,
    DeadlineExceeded,
    InvalidDeadlineHeader,
    parse_deadline_header,
)
from sample_app.resilience.outlier import OutlierConfig, OutlierDetector
from sample_app.resilience.retry import Backoff, RetryPolicy
from sample_app.resilience.shedding import LoadShedder

__all__ = [
    "DEADLINE_HEADER",
    "Backoff",
    "Balancer",
    "BreakerConfig",
    "BreakerState",
    "Bulkhead",
    "BulkheadFull",
    "CircuitBreaker",
    "Clock",
    "Deadline",
    "DeadlineExceeded",
    "FakeClock",
    "InvalidDeadlineHeader",
    "LoadShedder",
    "MonotonicClock",
    "OutlierConfig",
    "OutlierDetector",
    "Replica",
    "RetryPolicy",
    "parse_deadline_header",
]
