import pytest

from harness.specs.durations import MAX_SECONDS, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("2s", 2.0),
        ("1m30s", 90.0),
        ("1h", 3600.0),
        (3, 3.0),
        (0.25, 0.25),
        ("1.5s", 1.5),
    ],
)
def test_parses(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "s", "2 s", "1d", "ten seconds", True, None, "2s3"])
def test_rejects_with_the_accepted_forms(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("inf"), "inf is not finite: a duration is at most 24h"),
        (float("-inf"), "-inf is not finite: a duration is at most 24h"),
        (float("nan"), "nan is not a duration"),
        (".inf", "'.inf' is not a duration"),
        ("999999999h", "'999999999h' is longer than the limit of 24h"),
        ("24h1ms", "'24h1ms' is longer than the limit of 24h"),
        (86401, "86401 is longer than the limit of 24h"),
        (10**400, "a huge number is longer than the limit of 24h"),
        ("9" * 400 + "s", "is longer than the limit of 24h"),
        (-1, "-1 is negative"),
    ],
)
def test_rejects_non_finite_negative_and_absurd_durations(value, message):
    with pytest.raises(ValueError) as exc:
        parse_duration(value)
    assert message in str(exc.value)
    assert len(str(exc.value)) < 120  # a 400-digit number is not echoed back


def test_a_day_is_the_longest_duration():
    assert parse_duration("24h") == MAX_SECONDS == parse_duration(86400)
