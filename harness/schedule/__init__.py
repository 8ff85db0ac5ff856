"""Scheduled runs: a suite on a cron schedule within allowed windows, skipped when unsafe.

- `spec`: the schedule file (`kind: schedule`);
- `window`: cron times in a time zone, inside the allowed days and hours (DST-aware);
- `checks`: the skip conditions (alerts firing, error budget low, previous run unclean);
- `loop`: wait, decide, run, record; stops between runs on SIGINT/SIGTERM;
- `history`: one JSON line per slot, appended like the run journal;
- `render`: the same schedule as a crontab line or a systemd timer.
"""

from __future__ import annotations

from harness.schedule.history import Entry, ExperimentRun, append, read_entries
from harness.schedule.loop import Clock, Options, Stop, prepare, run_schedule
from harness.schedule.spec import ScheduleFile, load_schedule
from harness.schedule.window import Window, next_fire

__all__ = [
    "Clock",
    "Entry",
    "ExperimentRun",
    "Options",
    "ScheduleFile",
    "Stop",
    "Window",
    "append",
    "load_schedule",
    "next_fire",
    "prepare",
    "read_entries",
    "run_schedule",
]
