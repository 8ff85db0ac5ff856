"""Schedule windows: cron times in a time zone inside allowed days and hours, across DST."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from harness.schedule.window import Window, check_cron, latest_fire, next_fire, to_instant

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def at(*parts: int, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def test_next_fire_is_the_next_cron_time_in_the_zone():
    # 08:07 UTC is 09:07 in Berlin (winter): the next quarter hour is 09:15 Berlin
    got = next_fire("*/15 * * * *", Window(BERLIN), datetime(2025, 1, 8, 8, 7, tzinfo=UTC))
    assert got == at(2025, 1, 8, 9, 15)
    assert got.astimezone(BERLIN).isoformat() == "2025-01-08T09:15:00+01:00"


def test_next_fire_is_strictly_after():
    assert next_fire("0 9 * * *", Window(BERLIN), at(2025, 1, 8, 9, 0)) == at(2025, 1, 9, 9, 0)


def test_hours_window_moves_the_slot_to_the_window():
    office = Window(BERLIN, start=9 * 60, end=17 * 60)
    # 17:00 is outside (end exclusive): the next is 09:00 the day after
    assert next_fire("0 * * * *", office, at(2025, 1, 8, 16, 30)) == at(2025, 1, 9, 9, 0)


def test_days_window_skips_the_weekend():
    weekdays = Window(BERLIN, frozenset({"mon", "tue", "wed", "thu", "fri"}), 9 * 60, 17 * 60)
    # Friday 2025-01-10 after hours: Monday 2025-01-13 09:00
    assert next_fire("0 9 * * *", weekdays, at(2025, 1, 10, 18, 0)) == at(2025, 1, 13, 9, 0)


def test_window_across_midnight():
    night = Window(BERLIN, start=22 * 60, end=6 * 60)
    assert night.allows(at(2025, 1, 8, 23, 0)) and night.allows(at(2025, 1, 9, 5, 59))
    assert not night.allows(at(2025, 1, 9, 6, 0)) and not night.allows(at(2025, 1, 9, 12, 0))
    assert next_fire("0 * * * *", night, at(2025, 1, 9, 7, 0)) == at(2025, 1, 9, 22, 0)


def test_the_window_is_checked_in_the_schedule_zone_not_utc():
    office = Window(NEW_YORK, start=9 * 60, end=17 * 60)
    # 15:00 UTC is 10:00 in New York (EST): inside; 23:00 UTC is 18:00: outside
    assert office.allows(datetime(2025, 1, 8, 15, 0, tzinfo=UTC))
    assert not office.allows(datetime(2025, 1, 8, 23, 0, tzinfo=UTC))


def test_spring_forward_a_missing_wall_time_fires_at_the_end_of_the_gap():
    # 2025-03-30 in Berlin: 02:00 jumps to 03:00; 02:30 does not exist
    got = next_fire("30 2 * * *", Window(BERLIN), at(2025, 3, 29, 12, 0))
    assert got == datetime(2025, 3, 30, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert next_fire("30 2 * * *", Window(BERLIN), got) == at(2025, 3, 31, 2, 30)


def test_fall_back_a_repeated_wall_time_fires_once():
    # 2025-10-26 in Berlin: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice
    first = next_fire("30 2 * * *", Window(BERLIN), at(2025, 10, 25, 12, 0))
    assert first == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)
    # asked again from the second 02:10 (CET), the next is the day after, not 02:30 CET
    second_pass = datetime(2025, 10, 26, 1, 10, tzinfo=UTC)
    assert next_fire("30 2 * * *", Window(BERLIN), first) == at(2025, 10, 27, 2, 30)
    assert next_fire("30 2 * * *", Window(BERLIN), second_pass) == at(2025, 10, 27, 2, 30)


def test_hourly_across_spring_forward_keeps_utc_hours_distinct():
    start = datetime(2025, 3, 9, 5, 30, tzinfo=UTC)  # New York 00:30 EST; 02:00 is skipped
    times, t = [], start
    for _ in range(4):
        t = next_fire("0 * * * *", Window(NEW_YORK), t)
        times.append(t.astimezone(UTC).hour)
    assert times == [6, 7, 8, 9]  # 01:00 EST, 03:00 EDT (the gap's end), 04:00, 05:00 EDT


def test_to_instant_of_an_existing_time_is_itself():
    assert to_instant(datetime(2025, 6, 1, 12, 0), BERLIN) == at(2025, 6, 1, 12, 0)


def test_latest_fire_is_the_cron_time_just_passed():
    assert latest_fire("*/15 * * * *", BERLIN, at(2025, 1, 8, 10, 7)) == at(2025, 1, 8, 10, 0)
    assert latest_fire("*/15 * * * *", BERLIN, at(2025, 1, 8, 10, 0)) == at(2025, 1, 8, 10, 0)


def test_a_window_the_cron_never_meets_is_an_error():
    with pytest.raises(ValueError, match="no time inside the allowed window"):
        next_fire("0 3 * * *", Window(BERLIN, start=9 * 60, end=17 * 60), at(2025, 1, 8, 0, 0))


@pytest.mark.parametrize(
    "text", ["* * * *", "* * * * * *", "0 0 L * *", "0 0 * * 5#2", "0 0 ? * *", "61 * * * *"]
)
def test_only_plain_five_field_cron(text):
    with pytest.raises(ValueError):
        check_cron(text)


@pytest.mark.parametrize("text", ["*/5 9-17 * * mon-fri", "0 0 1,15 jul *", "0 12 * * 7"])
def test_plain_cron_is_accepted(text):
    check_cron(text)
