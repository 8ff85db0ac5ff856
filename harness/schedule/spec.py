"""Schedule files (`version: harness/v1`, `kind: schedule`): what runs, when, and when not.

A schedule names a suite of experiment files, a 5-field cron expression evaluated in
an IANA time zone, the days and hours runs are allowed in, and the conditions that
skip a slot (an alert firing, an SLO's error budget low, the previous run unclean).
Relative paths (`suite`, `runs_dir`, `stack`, `run_dir`) are relative to the schedule
file's directory, so an external scheduler may start `harness` from anywhere.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from harness.schedule.window import Window, check_cron, next_fire
from harness.specs.base import NAME, Strict
from harness.specs.yamlload import FieldError, load_model

__all__ = [
    "DAYS",
    "Allowed",
    "AlertsFiring",
    "BudgetBelow",
    "ScheduleFile",
    "SkipWhen",
    "load_schedule",
    "parse_hours",
]

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


def parse_hours(text: str) -> tuple[int, int]:
    """ "09:00-17:00" as (start, end) minutes of the day; end 24:00 allowed; end before
    start is a window across midnight ("22:00-06:00")."""
    match = _HOURS.match(text)
    if not match:
        raise ValueError('write "HH:MM-HH:MM", e.g. "09:00-17:00"')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{text!r}: not a time of day (00:00 to 24:00)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ValueError(f"{text!r}: an empty window (start equals end)")
    return start, end


class Allowed(Strict):
    days: tuple[Day, ...] = Field(DAYS, min_length=1, description="mon..sun")
    hours: str | None = Field(None, description='"09:00-17:00" (end exclusive); none: all day')

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            parse_hours(value)
        return value


class AlertsFiring(Strict):
    """Skip when a firing alert carries every one of these labels (none: any alert)."""

    severity: str | None = None
    alertname: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    def wanted(self) -> dict[str, str]:
        named = {"severity": self.severity, "alertname": self.alertname}
        return {**self.labels, **{k: v for k, v in named.items() if v is not None}}


class BudgetBelow(Strict):
    slo: str = Field(description="an SLO name from the stack's slo.files")
    remaining: float = Field(gt=0, le=1, description="skip below this share of the budget")


class SkipWhen(Strict):
    alerts_firing: AlertsFiring | bool = False
    budget_below: BudgetBelow | None = None
    previous_unclean: bool = False

    def alert_match(self) -> AlertsFiring | None:
        if self.alerts_firing is True:
            return AlertsFiring()
        return self.alerts_firing or None


class ScheduleFile(Strict):
    version: Literal["harness/v1"]
    kind: Literal["schedule"]
    name: str = Field("schedule", pattern=NAME)
    suite: tuple[str, ...] = Field(min_length=1, description="experiment files or directories")
    cron: str = Field(description="5 fields: minute hour day-of-month month day-of-week")
    timezone: str = Field("UTC", description="IANA name, e.g. Europe/Berlin")
    allowed: Allowed = Allowed()
    skip_when: SkipWhen = SkipWhen()
    runs_dir: str = "runs"
    max_runs: int | None = Field(None, gt=0, description="stop after this many slots")
    stack: str = "stack.yaml"
    run_dir: str = Field(".run", description="the stack's state directory")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        check_cron(value)
        return " ".join(value.split())

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    @model_validator(mode="after")
    def _fires(self) -> ScheduleFile:
        try:
            next_fire(self.cron, self.window(), datetime(2030, 1, 1, tzinfo=UTC))
        except ValueError as exc:
            raise FieldError(("allowed",), f"the schedule never runs: {exc}") from None
        return self

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def window(self) -> Window:
        start, end = parse_hours(self.allowed.hours) if self.allowed.hours else (0, 24 * 60)
        return Window(self.zone(), frozenset(self.allowed.days), start, end)

    def resolve(self, base: Path) -> ScheduleFile:
        """The same schedule with its paths made whole against `base` (the file's folder)."""
        return self.model_copy(
            update={
                "suite": tuple(str(base / p) for p in self.suite),
                "runs_dir": str(base / self.runs_dir),
                "stack": str(base / self.stack),
                "run_dir": str(base / self.run_dir),
            }
        )


def load_schedule(path: Path) -> ScheduleFile:
    """Validate `path` (every issue as file:line: field: message), its paths made whole."""
    return load_model(path, ScheduleFile).resolve(path.resolve().parent)
