"""The run's journal: one JSON object per line, appended by every process that acts on a run.

The harness, its watchdog and `harness recover` all append to the same
`journal.jsonl` with `O_APPEND` (each event one `write`, so lines from different
processes never interleave) and none rewrites another's events. Each event says who
wrote it (`by`, `pid`). A fault is written and fsynced *before* it is applied, so
whatever kills the harness, the watchdog or `recover` reads exactly what may still be
in place. `journal.json`, what people and reports read, is rendered from the lines
once, when the run has its verdict, and again by whoever recovers the run (the
watchdog, `harness recover`); while a run goes, `journal.jsonl` is its only record.

Readers get each event as the typed record of its name (`harness.safety.events`),
parsed once. A crash can leave a torn last line; readers skip a line that does not
parse. Every
string of an event is redacted as it is written (`harness.secrets.redact`): no secret
the process resolved reaches the journal, whoever passed it in.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from harness.safety.events import (
    Event,
    EventName,
    FaultApplying,
    FaultRemoved,
    RunStarted,
    VerdictEvent,
    parse_event,
    parse_events,
)
from harness.secrets import redact_data

__all__ = [
    "JOURNAL_FILE",
    "Journal",
    "open_faults",
    "read_events",
    "read_records",
    "render_json",
    "rendered_path",
    "run_start",
    "still_open",
]

JOURNAL_FILE = "journal.jsonl"


class Journal:
    """An append-only writer for one process (`by` names it); safe across threads."""

    def __init__(self, path: Path, by: str) -> None:
        self.path, self.by = path, by
        self._lock = threading.Lock()
        self._offset = 0  # how far `tail` has read

    @classmethod
    def create(cls, path: Path, by: str, **header: Any) -> Journal:
        """A new journal whose first event, `run.started`, carries the run's header."""
        journal = cls(path, by)
        journal.record(EventName.RUN_STARTED, version="harness/v1", **header)
        return journal

    def record(self, event: EventName, durable: bool = True, **fields: Any) -> dict[str, Any]:
        """Append one event; `durable` (the default) fsyncs it before returning."""
        entry = {
            "time": time.time(),
            "event": str(event),
            "by": self.by,
            "pid": os.getpid(),
            **fields,
        }
        entry = redact_data(entry)
        line = (json.dumps(entry, default=str) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                _append(fd, line)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
        return entry

    @property
    def events(self) -> list[Event]:
        """Every event in the file, whoever wrote it."""
        return read_records(self.path)

    def tail(self) -> list[Event]:
        """Events appended (by anyone) since the last call: cheap to call every tick."""
        with self._lock:
            try:
                with open(self.path, "rb") as fh:
                    fh.seek(self._offset)
                    data = fh.read()
            except FileNotFoundError:
                return []
            complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits
            self._offset += len(complete)
        return parse_events(_parse(complete))


def _append(fd: int, line: bytes) -> None:
    """Append one line; after a line torn by a crash (no final newline), start on a
    fresh line so this event is not lost with it. The file's lock makes the look at
    the last byte and the write one step for every process (the kernel drops it if a
    writer dies)."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        line = b"\n" + line
    while line:
        written = os.write(fd, line)
        line = line[written:]


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every complete event in `path` as written ([] when it does not exist)."""
    try:
        return _parse(path.read_bytes())
    except FileNotFoundError:
        return []


def _parse(data: bytes) -> list[dict[str, Any]]:
    events = []
    for raw in data.splitlines():
        try:
            event = json.loads(raw)
        except ValueError:
            continue  # a line torn by a crash
        if isinstance(event, dict) and "event" in event:
            events.append(event)
    return events


def read_records(path: Path) -> list[Event]:
    """Every complete event in `path`, each parsed into its typed record."""
    return parse_events(read_events(path))


def run_start(events: list[Event]) -> RunStarted | None:
    """The run's header event (None in a journal that lost it)."""
    return next((e for e in events if isinstance(e, RunStarted)), None)


def open_faults(events: list[Event]) -> list[FaultApplying]:
    """Faults recorded as applying and not yet removed, in order of application."""
    pending: dict[str, FaultApplying] = {}
    for ev in events:
        if isinstance(ev, FaultApplying):
            pending[ev.fault_id] = ev
        elif isinstance(ev, FaultRemoved):
            pending.pop(ev.fault_id, None)
    return list(pending.values())


def still_open(path: Path) -> list[FaultApplying]:
    """The faults the journal at `path` lists as possibly in place."""
    return open_faults(read_records(path))


def rendered_path(path: Path) -> Path:
    return path.with_name("journal.json")


def render_json(path: Path) -> Path:
    """Write `journal.json` beside the lines: the header, the verdict (if one was reached),
    what is still open, and every event. Atomic, and safe to call from any process."""
    lines = read_events(path)
    events = [parse_event(line) for line in lines]
    start = run_start(events)
    verdicts = [e for e in events if isinstance(e, VerdictEvent)]
    doc = {
        **(start.fields if start is not None else {}),
        **(verdicts[-1].fields if verdicts else {"verdict": None}),
        "open_faults": [f.fault_id for f in open_faults(events)],
        "events": lines,
    }
    out = rendered_path(path)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, out)
    return out
