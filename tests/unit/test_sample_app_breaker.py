"""Circuit breaker transitions on a fake clock."""

from __future__ import annotations

from sample_app.resilience import BreakerConfig, BreakerState, CircuitBreaker, FakeClock

CONFIG = BreakerConfig(
    consecutive_failures=3, failure_ratio=0.5, window=10, min_calls=6, cooldown=5
)


def make() -> tuple[CircuitBreaker, FakeClock, list[tuple[BreakerState, BreakerState]]]:
    clock = FakeClock()
    changes: list[tuple[BreakerState, BreakerState]] = []
    breaker = CircuitBreaker(CONFIG, clock, on_change=lambda a, b: changes.append((a, b)))
    return breaker, clock, changes


def test_consecutive_failures_open_the_breaker():
    breaker, _, changes = make()
    for _ in range(2):
        assert breaker.acquire()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.available() and not breaker.acquire()
    assert changes == [(BreakerState.CLOSED, BreakerState.OPEN)]


def test_a_success_resets_the_consecutive_count_but_the_ratio_still_trips():
    breaker, _, _ = make()
    for _ in range(3):
        breaker.record_failure()
        breaker.record_success()
    assert breaker.state is BreakerState.CLOSED  # never 3 in a row
    breaker.record_failure()  # 4 failures in 7 calls >= 0.5
    assert breaker.state is BreakerState.OPEN


def test_failure_ratio_needs_enough_calls():
    breaker, _, _ = make()
    for _ in range(2):
        breaker.record_success()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED  # 2 of 5: too few calls and below ratio
    breaker.record_success()
    breaker.record_failure()  # 3 of 7 < 0.5
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()  # 4 of 8 >= 0.5
    assert breaker.state is BreakerState.OPEN


def test_half_open_after_cooldown_admits_exactly_one_trial():
    breaker, clock, _ = make()
    for _ in range(3):
        breaker.record_failure()
    clock.advance(4.9)
    assert breaker.state is BreakerState.OPEN
    clock.advance(0.2)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire()
    assert not breaker.acquire()  # the one trial is in flight
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.acquire() and breaker.acquire()


def test_failed_trial_reopens_for_another_cooldown():
    breaker, clock, changes = make()
    for _ in range(3):
        breaker.record_failure()
    clock.advance(5)
    assert breaker.acquire()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(4)
    assert breaker.state is BreakerState.OPEN
    clock.advance(1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert [new for _, new in changes] == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
    ]


def test_abandoned_trial_frees_the_slot():
    breaker, clock, _ = make()
    for _ in range(3):
        breaker.record_failure()
    clock.advance(5)
    assert breaker.acquire()
    breaker.abandon()  # cancelled: no verdict
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire()


def test_stragglers_after_the_trip_do_not_extend_it():
    breaker, clock, _ = make()
    for _ in range(3):
        breaker.record_failure()
    clock.advance(3)
    breaker.record_failure()  # a call that started before the trip
    clock.advance(2)
    assert breaker.state is BreakerState.HALF_OPEN
