"""The gate's time range: the last `--since`, an explicit start and end, or the range of
a run (its journal's start and finish) or of a suite (a runs directory: from the first
run's start to the last run's finish). Every mistake is an InvalidInput naming the option."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from harness.alerts.floor import prom_seconds
from harness.errors import InvalidInput, Issue

__all__ = ["parse_time", "run_range", "since_range"]


def _bad(option: str, message: str) -> InvalidInput:
    return InvalidInput([Issue(option, None, "", message)])


def since_range(since: str, now: float | None = None) -> tuple[float, float]:
    try:
        seconds = prom_seconds(since)
    except ValueError:
        raise _bad("--since", f"{since!r} is not a duration: use 30m, 1h, 7d") from None
    if seconds <= 0:
        raise _bad("--since", "must be more than 0")
    end = time.time() if now is None else now
    return end - seconds, end


def parse_time(text: str, option: str) -> float:
    """Unix seconds, or RFC 3339 (`2026-11-25T10:00:00Z`; no zone means UTC)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(option, f"{text!r} is neither unix seconds nor RFC 3339") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def run_range(path: Path) -> tuple[float, float, list[str]]:
    """(start, end, run names) of a run directory, or of every run under a directory."""
    if (path / "journal.json").is_file():
        journals = [path / "journal.json"]
    else:
        journals = sorted(path.glob("*/journal.json"))
    if not journals:
        raise _bad("--run", f"{path}: no journal.json here or in its subdirectories")
    starts, ends, names = [], [], []
    for journal in journals:
        try:
            data = json.loads(journal.read_text())
        except (OSError, ValueError) as exc:
            raise _bad("--run", f"{journal}: not a readable journal: {exc}") from None
        started, finished = data.get("started"), data.get("finished")
        if not isinstance(started, int | float) or not isinstance(finished, int | float):
            raise _bad("--run", f"{journal}: the run has no start and finish (did it end?)")
        starts.append(float(started))
        ends.append(float(finished))
        names.append(str(data.get("experiment", journal.parent.name)))
    return min(starts), max(ends), names
