"""Durations in files: "500ms", "2s", "1m30s", or a bare number of seconds.

Every duration is finite and at most a day: `.inf` once ran a fault forever, and a
start_after of 999999999h is a typo, not a plan.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

__all__ = ["MAX_SECONDS", "Duration", "parse_duration"]

MAX_SECONDS = 24 * 3600.0
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_FORMS = "use forms like 500ms, 30s, 2m or 1m30s"


def parse_duration(value: object) -> float:
    """Seconds as a float in [0, 24h]; raises ValueError with the accepted forms."""
    seconds = _seconds(value)
    if math.isnan(seconds):
        raise ValueError(f"{_shown(value)} is not a duration: {_FORMS}")
    if math.isinf(seconds) and isinstance(value, float):
        raise ValueError(f"{_shown(value)} is not finite: a duration is at most 24h")
    if seconds < 0:
        raise ValueError(f"{_shown(value)} is negative: a duration is 0 or more")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{_shown(value)} is longer than the limit of 24h")
    return seconds


def _seconds(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a duration: {_FORMS}")
    if isinstance(value, int) and abs(value) > MAX_SECONDS:
        return math.inf if value > 0 else -math.inf  # float() of a huge int overflows
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        parts = _PART.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            return sum(float(n) * _UNITS[u] for n, u in parts)
    raise ValueError(f"{_shown(value)} is not a duration: {_FORMS}")


def _shown(value: object) -> str:
    """The value as the user wrote it, cut short (a 5,000-digit number has no useful repr)."""
    if isinstance(value, int) and abs(value) > 10**30:
        return "a huge number"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
        {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?(ms|h|m|s))+\s*$"},
    ],
    "description": "seconds, or a string like 500ms, 30s, 2m, 1h or 1m30s (at most 24h)",
}

Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_SCHEMA)]
