"""Process identity, so the harness only ever signals processes it started.

A PID alone can be reused by the kernel after a process exits; we record the PID
together with the process's start time (field 22 of /proc/<pid>/stat) and check
both before sending any signal.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

__all__ = ["ProcessRef", "start_time_of"]


def start_time_of(pid: int) -> int | None:
    """The kernel's start time (clock ticks since boot) of `pid`, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: split after the last ')'
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def _state_of(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[0]


@dataclass(frozen=True)
class ProcessRef:
    """A process we started: its PID and the start time that proves it is still the same one."""

    pid: int
    start_time: int

    @classmethod
    def of(cls, pid: int) -> ProcessRef:
        st = start_time_of(pid)
        if st is None:
            raise ProcessLookupError(pid)
        return cls(pid, st)

    def alive(self) -> bool:
        """True while this very process exists and is not a zombie."""
        return start_time_of(self.pid) == self.start_time and _state_of(self.pid) not in (
            "Z",
            "X",
            None,
        )

    def stopped(self) -> bool:
        """True if the process is stopped (SIGSTOP), e.g. by a pause fault."""
        return self.alive() and _state_of(self.pid) == "T"

    def send(self, sig: signal.Signals) -> bool:
        """Send `sig` only if this is still our process; False if it is gone."""
        if not self.alive():
            return False
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def wait_gone(self, timeout: float) -> bool:
        """Wait until the process is gone (or a zombie) for at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return True
            time.sleep(0.05)
        return not self.alive()

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Stop gracefully with `sig` (after SIGCONT, in case it was paused), then SIGKILL."""
        self.send(signal.SIGCONT)
        if self.send(sig) and not self.wait_gone(timeout):
            self.send(signal.SIGKILL)
            self.wait_gone(5.0)
