"""Balancing over replicas: outlier ejection and return, readiness, breakers, P2C."""

from __future__ import annotations

import random

import pytest

from sample_app.resilience import (
    Balancer,
    BreakerConfig,
    CircuitBreaker,
    FakeClock,
    OutlierConfig,
    OutlierDetector,
    Replica,
)

OUTLIER = OutlierConfig(consecutive_failures=3, base_ejection=2.0, max_ejection=10.0)


def replicas(clock: FakeClock, n: int = 3) -> list[Replica]:
    return [
        Replica(
            f"orders-{i}",
            f"http://127.0.0.1:{25300 + i}",
            CircuitBreaker(BreakerConfig(consecutive_failures=5), clock),
            OutlierDetector(OUTLIER, clock),
        )
        for i in range(1, n + 1)
    ]


def fail(detector: OutlierDetector, times: int) -> list[bool]:
    return [detector.record_failure() for _ in range(times)]


def test_consecutive_failures_eject_for_the_base_period_then_return():
    clock = FakeClock()
    detector = OutlierDetector(OUTLIER, clock)
    assert fail(detector, 3) == [False, False, True]
    assert detector.ejected()
    clock.advance(1.9)
    assert detector.ejected()
    clock.advance(0.2)
    assert not detector.ejected()


def test_success_resets_the_count():
    detector = OutlierDetector(OUTLIER, FakeClock())
    fail(detector, 2)
    detector.record_success()
    assert fail(detector, 2) == [False, False]
    assert not detector.ejected()


def test_repeat_offenders_stay_out_longer_up_to_the_cap():
    clock = FakeClock()
    detector = OutlierDetector(OUTLIER, clock)
    periods = []
    for _ in range(7):
        fail(detector, 3)
        start = clock.now()
        while detector.ejected():
            clock.advance(0.5)
        periods.append(clock.now() - start)
    assert periods == [2.0, 4.0, 6.0, 8.0, 10.0, 10.0, 10.0]


def test_a_long_quiet_spell_forgives_past_ejections():
    clock = FakeClock()
    detector = OutlierDetector(OUTLIER, clock)
    fail(detector, 3)
    clock.advance(2)
    fail(detector, 3)
    assert detector.ejections == 2
    clock.advance(4 + OUTLIER.max_ejection)
    fail(detector, 3)
    assert detector.ejections == 1
    assert detector.ejection_period() == 2.0


def test_balancer_skips_ejected_and_not_ready_replicas():
    clock = FakeClock()
    pool = replicas(clock)
    balancer = Balancer(pool, random.Random(1))
    fail(pool[0].outlier, 3)
    pool[1].ready = False
    assert {balancer.pick().name for _ in range(20)} == {"orders-3"}
    pool[2].ready = False
    assert balancer.pick() is None
    clock.advance(2)  # orders-1's ejection ends
    assert balancer.pick().name == "orders-1"


def test_balancer_prefers_replicas_not_tried_yet():
    pool = replicas(FakeClock())
    balancer = Balancer(pool, random.Random(3))
    for _ in range(20):
        assert balancer.pick(exclude={"orders-1", "orders-2"}).name == "orders-3"
    # when every eligible replica was tried, reuse one rather than give up
    assert balancer.pick(exclude={"orders-1", "orders-2", "orders-3"}) is not None


def test_balancer_respects_open_breakers_and_takes_the_half_open_trial():
    clock = FakeClock()
    pool = replicas(clock, 1)
    balancer = Balancer(pool, random.Random(0))
    for _ in range(5):
        pool[0].breaker.record_failure()
    assert balancer.pick() is None
    clock.advance(BreakerConfig().cooldown)
    assert balancer.pick() is pool[0]  # the trial
    assert balancer.pick() is None  # only one trial at a time


def test_two_choices_steer_away_from_a_busy_replica():
    pool = replicas(FakeClock(), 2)
    pool[0].in_flight = 10
    balancer = Balancer(pool, random.Random(5))
    assert {balancer.pick().name for _ in range(20)} == {"orders-2"}


@pytest.mark.parametrize("seed", range(3))
def test_load_spreads_over_equal_replicas(seed):
    pool = replicas(FakeClock(), 3)
    balancer = Balancer(pool, random.Random(seed))
    counts = {r.name: 0 for r in pool}
    for _ in range(300):
        counts[balancer.pick().name] += 1
    assert all(count > 50 for count in counts.values()), counts
