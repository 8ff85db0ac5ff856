"""Retry backoff: full jitter bounds, cap, attempt limit and the deadline."""

from __future__ import annotations

import random

import pytest

from sample_app.resilience import Backoff, RetryPolicy


def upper(low: float, high: float) -> float:
    return high


def lower(low: float, high: float) -> float:
    return low


def test_full_jitter_draws_from_zero_to_the_exponential_ceiling():
    backoff = Backoff(base=0.025, cap=0.25)
    calls: list[tuple[float, float]] = []

    def spy(low: float, high: float) -> float:
        calls.append((low, high))
        return high / 2

    for attempt in range(6):
        backoff.delay(attempt, spy)
    assert calls == [
        (0.0, 0.025),
        (0.0, 0.05),
        (0.0, 0.1),
        (0.0, 0.2),
        (0.0, 0.25),  # capped
        (0.0, 0.25),
    ]


def test_real_randomness_stays_within_bounds():
    rng = random.Random(7)
    backoff = Backoff(base=0.01, cap=0.1)
    for attempt in range(8):
        delays = [backoff.delay(attempt, rng.uniform) for _ in range(200)]
        assert all(0.0 <= d <= backoff.ceiling(attempt) for d in delays)
        assert max(delays) > 0.5 * backoff.ceiling(attempt)  # really spread, not a constant


def test_attempts_are_limited():
    policy = RetryPolicy(max_attempts=3, backoff=Backoff(0.01, 0.1))
    assert policy.next_delay(0, remaining=10, uniform=upper) == pytest.approx(0.01)
    assert policy.next_delay(1, remaining=10, uniform=upper) == pytest.approx(0.02)
    assert policy.next_delay(2, remaining=10, uniform=upper) is None


def test_no_retry_that_would_end_past_the_deadline():
    policy = RetryPolicy(max_attempts=5, backoff=Backoff(0.1, 1.0), min_attempt_time=0.05)
    assert policy.next_delay(0, remaining=0.2, uniform=upper) == pytest.approx(0.1)
    assert policy.next_delay(0, remaining=0.14, uniform=upper) is None
    # a lucky short draw still fits
    assert policy.next_delay(0, remaining=0.14, uniform=lower) == 0.0


def test_single_attempt_policy_never_retries():
    assert RetryPolicy(max_attempts=1).next_delay(0, remaining=10, uniform=upper) is None
