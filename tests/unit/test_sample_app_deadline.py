"""Deadline budgets: header parsing and arithmetic on a fake clock."""

from __future__ import annotations

import pytest

from sample_app.resilience import (
    Deadline,
    DeadlineExceeded,
    FakeClock,
    InvalidDeadlineHeader,
    parse_deadline_header,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("1500", 1500), (" 250 ", 250), ("0", 0), ("-5", -5)],
)
def test_header_parses_remaining_milliseconds(value, expected):
    assert parse_deadline_header(value) == expected


@pytest.mark.parametrize("value", ["", "abc", "1.5", "1e3", "12ms", "9" * 13, "--1"])
def test_malformed_header_is_rejected(value):
    with pytest.raises(InvalidDeadlineHeader):
        parse_deadline_header(value)


def test_budget_is_the_default_or_less_never_more():
    clock = FakeClock()
    assert Deadline.start(clock, 2.0).remaining() == pytest.approx(2.0)
    assert Deadline.start(clock, 2.0, header_ms=500).remaining() == pytest.approx(0.5)
    assert Deadline.start(clock, 2.0, header_ms=60_000).remaining() == pytest.approx(2.0)


def test_remaining_shrinks_with_time_and_never_goes_negative():
    clock = FakeClock()
    deadline = Deadline.start(clock, 1.0)
    clock.advance(0.4)
    assert deadline.remaining() == pytest.approx(0.6)
    assert not deadline.expired()
    clock.advance(0.7)
    assert deadline.remaining() == 0.0
    assert deadline.expired()
    with pytest.raises(DeadlineExceeded):
        deadline.check()


def test_per_call_timeout_is_capped_by_what_remains():
    clock = FakeClock()
    deadline = Deadline.start(clock, 2.0)
    assert deadline.timeout(0.8) == pytest.approx(0.8)
    clock.advance(1.5)
    assert deadline.timeout(0.8) == pytest.approx(0.5)
    child = deadline.child(0.2)
    assert child.remaining() == pytest.approx(0.2)


def test_header_value_rounds_down_so_downstream_never_outlives_us():
    clock = FakeClock()
    deadline = Deadline.start(clock, 1.0)
    clock.advance(0.0004)
    assert deadline.header_value() == "999"
    clock.advance(5)
    assert deadline.header_value() == "0"


def test_negative_header_means_already_expired():
    assert Deadline.start(FakeClock(), 2.0, header_ms=-10).expired()
