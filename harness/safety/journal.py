"""The run's journal: one JSON object per line, appended by every process that acts on a run.

The harness, its watchdog and `harness recover` all append to the same
`journal.jsonl` with `O_APPEND` (each event one `write`, so lines from different
processes never interleave) and none rewrites another's events. Each event says who
wrote it (`by`, `pid`). A fault is written and fsynced *before* it is applied, so
whatever kills the harness, the watchdog or `recover` reads exactly what may still be
in place. `journal.json`, what people and reports read, is rendered from the lines
once, when the run has its verdict, and again by whoever recovers the run (the
watchdog, `harness recover`); while a run goes, `journal.jsonl` is its only record.

A crash can leave a torn last line; readers skip a line that does not parse. Every
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

from harness.secrets import redact_data

__all__ = [
    "JOURNAL_FILE",
    "Journal",
    "open_faults",
    "read_events",
    "render_json",
    "rendered_path",
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
        journal.record("run.started", version="harness/v1", **header)
        return journal

    def record(self, event: str, durable: bool = True, **fields: Any) -> dict[str, Any]:
        """Append one event; `durable` (the default) fsyncs it before returning."""
        entry = {"time": time.time(), "event": event, "by": self.by, "pid": os.getpid(), **fields}
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
    def events(self) -> list[dict[str, Any]]:
        """Every event in the file, whoever wrote it."""
        return read_events(self.path)

    @property
    def header(self) -> dict[str, Any]:
        return header_of(self.events)

    def tail(self) -> list[dict[str, Any]]:
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
        return _parse(complete)


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
    """Every complete event in `path` ([] when it does not exist)."""
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


def header_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    start = next((e for e in events if e["event"] == "run.started"), {})
    return {k: v for k, v in start.items() if k not in ("time", "event", "by", "pid")}


def open_faults(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Faults recorded as applying and not yet removed, in order of application."""
    pending: dict[str, dict[str, Any]] = {}
    for ev in events:
        if ev["event"] == "fault.applying":
            pending[ev["fault_id"]] = ev
        elif ev["event"] == "fault.removed":
            pending.pop(ev["fault_id"], None)
    return list(pending.values())


def still_open(path: Path) -> list[dict[str, Any]]:
    """The faults the journal at `path` lists as possibly in place."""
    return open_faults(read_events(path))


def rendered_path(path: Path) -> Path:
    return path.with_name("journal.json")


def render_json(path: Path) -> Path:
    """Write `journal.json` beside the lines: the header, the verdict (if one was reached),
    what is still open, and every event. Atomic, and safe to call from any process."""
    events = read_events(path)
    verdicts = [e for e in events if e["event"] == "verdict"]
    verdict = (
        {k: v for k, v in verdicts[-1].items() if k not in ("event", "by", "pid", "time")}
        if verdicts
        else {"verdict": None}
    )
    doc = {
        **header_of(events),
        **verdict,
        "open_faults": [f["fault_id"] for f in open_faults(events)],
        "events": events,
    }
    out = rendered_path(path)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, out)
    return out
