"""What a run can leave on a stack, counted from outside the harness; and its journal.

Used by `bench.crash_recovery`. Reads only what any operator could: Toxiproxy's API,
the stack's state file (replica PIDs), the stack's active-run pointer and the run's
journal file (`journal.jsonl`, one event a line, or the older `journal.json`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.clients.toxiproxy import ToxiproxyClient
from harness.runtime.local.state import read_state

__all__ = [
    "Leftovers",
    "children",
    "cmdline",
    "count",
    "journal_events",
    "open_at",
    "phase_at",
    "read_journal",
]

POINTER = "active-run.json"


@dataclass
class Leftovers:
    toxics: list[str] = field(default_factory=list)  # "proxy/toxic"
    disabled: list[str] = field(default_factory=list)  # proxy names
    stopped: list[str] = field(default_factory=list)  # replicas in state T
    pointer: bool = False  # the stack points at a run with faults open: `run` would refuse

    @property
    def faults(self) -> int:
        return len(self.toxics) + len(self.disabled) + len(self.stopped)

    @property
    def clean(self) -> bool:
        return self.faults == 0 and not self.pointer

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def count(toxiproxy: ToxiproxyClient, run_dir: Path) -> Leftovers:
    """Toxics on any proxy, disabled proxies, stopped replicas, and a pointer to a run
    whose journal lists faults still open (a pointer to a run with none is harmless:
    the next `harness run` clears it)."""
    found = Leftovers(pointer=_pointer_open(run_dir))
    for name, proxy in toxiproxy.proxies().items():
        found.toxics += [f"{name}/{t.name}" for t in proxy.toxics]
        if not proxy.enabled:
            found.disabled.append(name)
    state = read_state(run_dir / "state.json")
    for comp in state.components if state else []:
        ref = comp.process()
        if ref is not None and ref.stopped():
            found.stopped.append(comp.name)
    return found


def _pointer_open(run_dir: Path) -> bool:
    try:
        pointer = json.loads((run_dir / POINTER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except ValueError:
        return True  # unreadable: count it, someone must look
    return bool(open_at(read_journal(Path(pointer["journal"])), float("inf")))


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Events of a `journal.jsonl` (skipping a torn last line) or an older `journal.json`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    if path.suffix == ".json":
        try:
            return list(json.loads(text)["events"])
        except ValueError:
            return []
    events = []
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # a torn last line, written as the process died
    return events


def journal_events(runs_dir: Path) -> list[dict[str, Any]]:
    """The events of the one run under `runs_dir` (either journal format); [] if none yet."""
    for pattern in ("*/journal.jsonl", "*/journal.json"):
        for path in sorted(runs_dir.glob(pattern)):
            return read_journal(path)
    return []


def phase_at(events: list[dict[str, Any]], wall: float) -> str:
    """The phase the run was in at wall-clock `wall` ("startup" before the first)."""
    current = "startup"
    for ev in events:
        if ev["time"] > wall:
            break
        if ev["event"] == "phase.start":
            current = ev["phase"]
        elif ev["event"] == "phase.end" and ev.get("phase") == current:
            current = f"after {current}"
    return current


def open_at(events: list[dict[str, Any]], wall: float) -> list[str]:
    """Descriptions of faults journaled as applying and not removed by `wall`."""
    pending: dict[str, str] = {}
    for ev in events:
        if ev["time"] > wall:
            break
        if ev["event"] == "fault.applying":
            pending[ev["fault_id"]] = ev.get("description", ev["fault_id"])
        elif ev["event"] == "fault.removed":
            pending.pop(ev["fault_id"], None)
    return list(pending.values())


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    """PIDs whose parent is `pid` (scan of /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry))
    return found
