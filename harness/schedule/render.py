"""A schedule as a crontab line or a systemd .service + .timer pair, for users who keep
their own scheduler. Both call `harness schedule run FILE --once`, which enforces the
allowed window and the skip checks itself, so nothing of the schedule is lost.

OnCalendar is built from the cron fields as croniter expands them, so it names the same
minutes, hours, days and months. Cron runs when *either* a restricted day of the month
or a restricted day of the week matches; one OnCalendar needs both, so that case gets
two OnCalendar lines (systemd runs a timer when any of its lines matches).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from croniter import croniter

__all__ = ["Invocation", "crontab", "on_calendar", "systemd_units"]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Invocation:
    """How the external scheduler starts one slot: in `repo`, `harness` on `schedule`."""

    name: str
    schedule: Path
    repo: Path
    harness: str

    def command(self) -> str:
        return f"{shlex.quote(self.harness)} schedule run {shlex.quote(str(self.schedule))} --once"


def crontab(cron: str, zone: str, how: Invocation) -> str:
    return "\n".join(
        [
            f"# harness schedule {how.name}: the allowed window and skip checks are enforced "
            "by --once itself",
            "# CRON_TZ needs cronie or a cron that honours it; elsewhere set the system's zone",
            f"CRON_TZ={zone}",
            f"{cron} cd {shlex.quote(str(how.repo))} && {how.command()}",
        ]
    )


def systemd_units(cron: str, zone: str, how: Invocation) -> str:
    """`harness-schedule-NAME.service` and `.timer`, each headed by its file name."""
    unit = f"harness-schedule-{how.name}"
    calendars = "\n".join(f"OnCalendar={c}" for c in on_calendar(cron, zone))
    return f"""# {unit}.service
[Unit]
Description=harness schedule {how.name} ({how.schedule})

[Service]
Type=oneshot
WorkingDirectory={how.repo}
ExecStart={how.command()}
# SIGTERM ends a run "interrupted" after its faults are rolled back: leave it time
KillMode=mixed
TimeoutStopSec=120

# {unit}.timer
[Unit]
Description=harness schedule {how.name} (cron "{cron}" in {zone})

[Timer]
{calendars}
# on time to the second: --once takes the cron time just passed as its slot
AccuracySec=1s

[Install]
WantedBy=timers.target
"""


def on_calendar(cron: str, zone: str) -> list[str]:
    """OnCalendar expressions (time zone suffix: systemd 235+) matching `cron` exactly."""
    (minutes, hours, days, months, weekdays), _nth = croniter.expand(cron)
    clock = f"{_field(hours, 0, 23)}:{_field(minutes, 0, 59)}:00"
    month = _field(months, 1, 12)
    dom, dow = cron.split()[2], cron.split()[4]
    week = _weekdays(weekdays)
    if dom.startswith("*") or dow.startswith("*"):  # cron ANDs them then, as systemd does
        prefix = f"{week} " if week else ""
        return [f"{prefix}*-{month}-{_field(days, 1, 31)} {clock} {zone}"]
    return [
        f"*-{month}-{_field(days, 1, 31)} {clock} {zone}",
        f"{week} *-{month}-* {clock} {zone}",
    ]


def _field(values: list[int | str], low: int, high: int) -> str:
    """`*`, `start/step` to the end of the range, `a..b` runs, or a list."""
    if values == ["*"] or [int(v) for v in values] == list(range(low, high + 1)):
        return "*"
    numbers = sorted(int(v) for v in values)
    if len(numbers) > 2:
        step = numbers[1] - numbers[0]
        if step > 1 and numbers == list(range(numbers[0], high + 1, step)):
            return f"{numbers[0]:02d}/{step}"
    return ",".join(_runs(numbers, lambda n: f"{n:02d}"))


def _weekdays(values: list[int | str]) -> str:
    """Cron's 0-7 (0 and 7 Sunday) as Mon..Sun; empty for every day."""
    if values == ["*"]:
        return ""
    days = sorted({(int(v) - 1) % 7 for v in values})  # Monday 0
    if len(days) == 7:
        return ""
    return ",".join(_runs(days, lambda d: WEEKDAYS[d]))


def _runs(numbers: list[int], name: Callable[[int], str]) -> list[str]:
    """Consecutive numbers of three or more as `a..b`, others one by one."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts += (
            [f"{name(start)}..{name(prev)}"]
            if prev - start >= 2
            else [name(x) for x in range(start, prev + 1)]
        )
        if n is not None:
            start = prev = n
    return parts
