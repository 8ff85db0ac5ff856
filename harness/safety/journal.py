"""The run's journal: a durable, timestamped record of every event and every fault.

A fault is written (and fsynced) *before* it is applied and marked when removed, so
whatever kills the harness, `harness recover` or the watchdog can read exactly what
is still in place and undo it. The file is rewritten atomically on each event (write,
fsync, rename): a reader never sees half a journal, and a crash loses nothing that
was applied.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["Journal", "open_faults"]


class Journal:
    """Append-only in meaning, rewritten atomically on disk; safe across threads."""

    def __init__(self, path: Path, header: dict[str, Any] | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path.exists():
            self._doc = json.loads(path.read_text(encoding="utf-8"))
        else:
            self._doc = {"version": "harness/v1", **(header or {}), "events": []}
            self._flush()

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self._doc["events"])

    @property
    def header(self) -> dict[str, Any]:
        return {k: v for k, v in self._doc.items() if k != "events"}

    def set(self, **fields: Any) -> None:
        """Set top-level fields (verdict, figures) and flush."""
        with self._lock:
            self._doc.update(fields)
            self._flush()

    def record(self, event: str, durable: bool = True, **fields: Any) -> dict[str, Any]:
        """Append an event; `durable=False` (probe results) waits for the next flush."""
        entry = {"time": time.time(), "event": event, **fields}
        with self._lock:
            self._doc["events"].append(entry)
            if durable:
                self._flush()
        return entry

    def _flush(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self._doc, fh, indent=1, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def open_faults(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Faults recorded as applying/applied and not yet removed, in order of application."""
    pending: dict[str, dict[str, Any]] = {}
    for ev in events:
        if ev["event"] == "fault.applying":
            pending[ev["fault_id"]] = ev
        elif ev["event"] == "fault.removed":
            pending.pop(ev["fault_id"], None)
    return list(pending.values())
