"""A schedule as a crontab line and as a systemd .service + .timer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from harness.schedule.render import Invocation, crontab, on_calendar, systemd_units
from harness.schedule.window import Window, next_fire

HOW = Invocation(
    "nightly", Path("/srv/s/schedule.yaml"), Path("/srv/repo"), "/srv/repo/.venv/bin/harness"
)


def test_crontab_line():
    text = crontab("*/15 9-17 * * mon-fri", "Europe/Berlin", HOW)
    lines = text.splitlines()
    assert "CRON_TZ=Europe/Berlin" in lines
    assert lines[-1] == (
        "*/15 9-17 * * mon-fri cd /srv/repo && "
        "/srv/repo/.venv/bin/harness schedule run /srv/s/schedule.yaml --once"
    )
    assert all(line.startswith("#") for line in lines[:2])


def test_paths_with_spaces_are_quoted():
    how = Invocation("n", Path("/my dir/s.yaml"), Path("/my repo"), "harness")
    assert "cd '/my repo' && harness schedule run '/my dir/s.yaml' --once" in crontab(
        "0 * * * *", "UTC", how
    )


def test_systemd_units():
    text = systemd_units("*/15 9-17 * * mon-fri", "Europe/Berlin", HOW)
    assert (
        "# harness-schedule-nightly.service" in text and "# harness-schedule-nightly.timer" in text
    )
    assert "ExecStart=/srv/repo/.venv/bin/harness schedule run /srv/s/schedule.yaml --once" in text
    assert "WorkingDirectory=/srv/repo" in text and "Type=oneshot" in text
    assert "OnCalendar=Mon..Fri *-*-* 09..17:00/15:00 Europe/Berlin" in text
    assert "WantedBy=timers.target" in text


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("* * * * *", ["*-*-* *:*:00 UTC"]),
        ("0 3 * * *", ["*-*-* 03:00:00 UTC"]),
        ("*/15 9-17 * * mon-fri", ["Mon..Fri *-*-* 09..17:00/15:00 UTC"]),
        ("0 9 * * 0,6", ["Sat,Sun *-*-* 09:00:00 UTC"]),
        ("0 9 * * 7", ["Sun *-*-* 09:00:00 UTC"]),
        ("5 4 */3 jan-mar,oct *", ["*-01..03,10-01/3 04:05:00 UTC"]),
        ("5-50/10 */2 * * *", ["*-*-* 00/2:05,15,25,35,45:00 UTC"]),
        # cron runs when either restricted day field matches: two OnCalendar lines
        ("30 2 1,15 * 1", ["*-*-01,15 02:30:00 UTC", "Mon *-*-* 02:30:00 UTC"]),
    ],
)
def test_on_calendar(cron, expected):
    assert on_calendar(cron, "UTC") == expected


ANALYZE = shutil.which("systemd-analyze")
ITER = re.compile(r"(?:Next elapse|Iter\. #\d+): \w+ (\S+ \S+) UTC")


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize(
    "cron",
    [
        "*/15 9-17 * * mon-fri",
        "5 4 */3 jan-mar,oct *",
        "30 2 1,15 * 1",
        "0 12 * * 7",
        "5-50/10 */2 * * *",
    ],
)
def test_systemd_agrees_with_croniter(cron):
    """systemd's own parser yields the same times as the schedule (each OnCalendar line
    gives candidates; the union's first N are cron's first N)."""
    start = datetime(2030, 1, 1, tzinfo=UTC)
    seen: set[str] = set()
    for spec in on_calendar(cron, "UTC"):
        done = subprocess.run(
            [ANALYZE, "calendar", "--iterations=12", f"--base-time={start:%Y-%m-%d %H:%M:%S} UTC", spec],
            capture_output=True, text=True, check=True, env={**os.environ, "TZ": "UTC"},
        )  # fmt: skip
        seen |= set(ITER.findall(done.stdout))
    ours, t = [], start
    for _ in range(12):
        t = next_fire(cron, Window(ZoneInfo("UTC")), t)
        ours.append(f"{t:%Y-%m-%d %H:%M:%S}")
    assert sorted(seen)[:12] == ours
