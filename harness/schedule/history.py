"""The schedule's history: one JSON line per slot in `<runs_dir>/schedule-history.jsonl`.

Each line says when the slot was, whether it ran or was skipped and why, and for a run
each experiment's verdict (with its designed one), exit code and report. Lines are
appended with `O_APPEND` under the file's `flock`, one `write` each, as the run journal
is; a crash can tear the last line, so readers skip a line that does not parse and a
writer starts a fresh line after a torn one.

Beside it, `schedule-inflight.json` exists only while a slot runs: found at the start of
a slot with its process gone, the previous run did not end cleanly.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.secrets import redact_data

__all__ = [
    "HISTORY_FILE",
    "INFLIGHT_FILE",
    "Entry",
    "ExperimentRun",
    "append",
    "clear_inflight",
    "read_entries",
    "read_inflight",
    "write_inflight",
]

HISTORY_FILE = "schedule-history.jsonl"
INFLIGHT_FILE = "schedule-inflight.json"
Decision = Literal["ran", "skipped", "acknowledged"]


@dataclass(frozen=True)
class ExperimentRun:
    name: str
    verdict: str
    designed: str
    exit_code: int
    report: str

    @property
    def as_designed(self) -> bool:
        return self.verdict == self.designed


@dataclass(frozen=True)
class Entry:
    slot: str  # the cron time, ISO 8601 in the schedule's zone
    decided: float  # unix time of the decision
    schedule: str
    decision: Decision
    reason: str = ""
    exit_code: int = 0
    experiments: list[ExperimentRun] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        """A run that ended as designed, every experiment, below exit code 3."""
        return self.exit_code < 3 and all(e.as_designed for e in self.experiments)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        runs = [ExperimentRun(**e) for e in data.get("experiments", [])]
        return cls(**{**data, "experiments": runs})


def append(runs_dir: Path, entry: Entry) -> Path:
    """Append one entry (fsynced); a torn last line is left alone, on its own line."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / HISTORY_FILE
    line = (json.dumps(redact_data(entry.to_json())) + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        while line:
            line = line[os.write(fd, line) :]
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    return path


def read_entries(runs_dir: Path) -> list[Entry]:
    """Every complete entry, oldest first ([] when there is no history)."""
    try:
        data = (runs_dir / HISTORY_FILE).read_bytes()
    except FileNotFoundError:
        return []
    entries = []
    for raw in data.splitlines():
        try:
            entries.append(Entry.from_json(json.loads(raw)))
        except (ValueError, TypeError, AttributeError):
            continue  # a line torn by a crash, or not ours
    return entries


def write_inflight(runs_dir: Path, slot: str) -> None:
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / INFLIGHT_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"slot": slot, "pid": os.getpid()}), encoding="utf-8")
    os.replace(tmp, path)


def read_inflight(runs_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((runs_dir / INFLIGHT_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def clear_inflight(runs_dir: Path) -> None:
    (runs_dir / INFLIGHT_FILE).unlink(missing_ok=True)
