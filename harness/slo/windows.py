"""The burn-rate window arithmetic, kept apart from rule rendering (as Sloth does).

The multiwindow, multi-burn-rate alerts of the Google SRE workbook: page when 2% of the
period's budget burns in 1h (short window 5m) or 5% in 6h (30m); ticket when 10% burns
in 1d (2h) or 10% in 3d (6h). Sloth computes each factor in float64 as
`budget% * period_hours / 100 / long_window_hours`; so do we, and print the floats
as Go does, so 28 days gives Sloth's `5.6000000000000005`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DAY",
    "PERIODS",
    "SLI_WINDOWS",
    "BurnWindow",
    "Period",
    "burn_windows",
    "go_float",
    "prom_duration",
    "scaled",
]

MINUTE, HOUR, DAY = 60, 3600, 86400
SLI_WINDOWS = (5 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 6 * HOUR, DAY, 3 * DAY)
Period = Literal["30d", "28d"]
PERIODS: dict[str, int] = {"30d": 30 * DAY, "28d": 28 * DAY}


@dataclass(frozen=True)
class BurnWindow:
    """One half of an alert: burn `budget_percent` of the period within `long`."""

    severity: Literal["page", "ticket"]
    budget_percent: float
    short: int  # seconds
    long: int

    def factor(self, period: int) -> float:
        # Sloth v0.16 (internal/alert): hours, in this order, so 28d gives 5.6000000000000005
        return self.budget_percent * (period / HOUR) / 100 / (self.long / HOUR)


_WORKBOOK = (
    BurnWindow("page", 2, 5 * MINUTE, HOUR),
    BurnWindow("page", 5, 30 * MINUTE, 6 * HOUR),
    BurnWindow("ticket", 10, 2 * HOUR, DAY),
    BurnWindow("ticket", 10, 6 * HOUR, 3 * DAY),
)


def burn_windows(severity: Literal["page", "ticket"]) -> tuple[BurnWindow, BurnWindow]:
    """The (quick, slow) pair of a severity; the same for 30 and 28 days, as in Sloth."""
    quick, slow = (w for w in _WORKBOOK if w.severity == severity)
    return quick, slow


def prom_duration(seconds: int) -> str:
    """Prometheus's own duration text (prometheus/common model.Duration.String).

    Years and weeks only when exact (`30d`, not `4w2d`; 28 days is `4w`).
    """
    if seconds <= 0:
        return "0s"
    text, rest = "", seconds
    for unit, size, exact in (
        ("y", 365 * DAY, True), ("w", 7 * DAY, True), ("d", DAY, False),
        ("h", HOUR, False), ("m", MINUTE, False), ("s", 1, False),
    ):  # fmt: skip
        if exact and rest % size:
            continue
        if rest >= size:
            text += f"{rest // size}{unit}"
            rest %= size
    return text


def scaled(seconds: int, scale: float) -> int:
    """A window shortened for demos: rounded to whole seconds, never below one."""
    return max(1, round(seconds * scale))


def go_float(value: float) -> str:
    """A float64 as Go's `%v` prints it: shortest round-trip text, `6` not `6.0`."""
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)
