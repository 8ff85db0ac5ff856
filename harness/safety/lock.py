"""One experiment at a time per stack, and a pointer to the run that holds faults.

The lock is an advisory `flock` on `<stack run dir>/experiment.lock`: the kernel
releases it when the holder dies, so a crash never leaves a stale lock. The pointer
`<stack run dir>/active-run.json` survives a crash on purpose: while it names a run
whose journal still lists faults, `harness run` refuses and says to run `recover`.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from harness.errors import Refused
from harness.procs import ProcessRef, start_time_of
from harness.safety.journal import still_open

__all__ = [
    "ActiveRun",
    "RunLock",
    "clear_active",
    "read_active",
    "refuse_if_unrecovered",
    "write_active",
]


class RunLock:
    """The stack's experiment lock; `role` (harness run, harness recover, watchdog) is
    written beside the PID so whoever is refused is told who holds it."""

    def __init__(self, stack_run_dir: Path, role: str = "harness run") -> None:
        self.path = stack_run_dir / "experiment.lock"
        self.role = role
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise Refused naming the holder; never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 — held for the run
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = describe_holder(fh.read())
            fh.close()
            raise Refused(f"{holder} holds the experiment lock of this stack") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()} {self.role}")
        fh.flush()
        self._fh = fh

    @property
    def held(self) -> bool:
        return self._fh is not None

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def describe_holder(text: str) -> str:
    """`pid 123 (harness run)`, saying when that process is stopped (SIGSTOP)."""
    pid_text, _, role = text.strip().partition(" ")
    if not pid_text.isdigit():
        return "another process"
    pid = int(pid_text)
    start = start_time_of(pid)
    stopped = start is not None and ProcessRef(pid, start).stopped()
    state = ", stopped: send it SIGCONT or end it first" if stopped else ""
    return f"pid {pid} ({role or 'harness'}{state})"


@dataclass(frozen=True)
class ActiveRun:
    journal: str
    pid: int
    start_time: int
    heartbeat: str
    watchdog_pid: int | None = None
    watchdog_start_time: int | None = None


def _pointer(stack_run_dir: Path) -> Path:
    return stack_run_dir / "active-run.json"


def write_active(stack_run_dir: Path, active: ActiveRun) -> None:
    path = _pointer(stack_run_dir)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # never shared between writers
    tmp.write_text(json.dumps(asdict(active)), encoding="utf-8")
    os.replace(tmp, path)


def read_active(stack_run_dir: Path) -> ActiveRun | None:
    try:
        return ActiveRun(**json.loads(_pointer(stack_run_dir).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def clear_active(stack_run_dir: Path) -> None:
    _pointer(stack_run_dir).unlink(missing_ok=True)


def refuse_if_unrecovered(stack_run_dir: Path) -> None:
    """Refuse to start while a dead run's journal still lists faults in place."""
    active = read_active(stack_run_dir)
    if active is None:
        return
    path = Path(active.journal)
    faults = still_open(path)
    if not faults:
        clear_active(stack_run_dir)  # the run ended cleanly but did not tidy up
        return
    raise Refused(
        f"an earlier run left {len(faults)} fault(s) in place ({path}); run `harness recover` first"
    )
