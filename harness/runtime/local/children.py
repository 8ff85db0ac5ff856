"""A component's process as the supervisor keeps it: spawned with its log, its restart
and liveness bookkeeping, its failure as `harness up` reports it, and stopping many
at once.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import IO

from harness.errors import StackError
from harness.procs import ProcessRef
from harness.runtime.local.components import Component, child_env
from harness.runtime.local.liveness import LiveCheck
from harness.runtime.local.logtail import log_size, tail
from harness.runtime.local.state import ComponentState

__all__ = ["Child", "stop_processes"]


class Child:
    """A running (or waiting) component: its Popen, its log and its bookkeeping."""

    def __init__(self, comp: Component, state: ComponentState, log_path: Path) -> None:
        self.comp, self.state, self.log_path = comp, state, log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None
        self.log_start = 0  # where the current process's output begins in its log
        self.restart_at: float | None = None
        self.streak = 0  # consecutive quick exits, for backoff
        self.started = 0.0  # monotonic time of the last spawn
        self.live = LiveCheck(comp.live, 0.0) if comp.live is not None else None
        self.probe: Future[str | None] | None = None  # a liveness probe in flight
        self.kill_reason: str | None = None  # why the supervisor killed it, if it did

    def spawn(self, default_cwd: Path) -> None:
        """Start (or restart) the process; its output goes to the end of its log."""
        comp = self.comp
        if self.log is None:
            self.log = open(self.log_path, "ab", buffering=0)  # noqa: SIM115
        self.log_start = log_size(self.log_path)
        self.proc = subprocess.Popen(
            list(comp.argv),
            env=child_env(comp),
            user=comp.user,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=comp.cwd or default_cwd,
        )
        ref = ProcessRef.of(self.proc.pid)
        self.state.pid, self.state.start_time = ref.pid, ref.start_time
        self.state.status, self.state.started_at = "starting", time.time()
        self.started = time.monotonic()
        self.probe, self.kill_reason = None, None  # a probe of its predecessor counts for nothing
        if self.live is not None:
            self.live.restarted(self.started)

    def failure(self, why: str, code: int | None) -> StackError:
        """Record that it failed while the stack started (kept after the teardown), with
        the last lines this process wrote; the error `harness up` reports."""
        self.state.status, self.state.error, self.state.last_exit = "failed", why, code
        self.state.log_tail = tail(self.log_path, start=self.log_start)
        return StackError(f"{self.comp.name} {why}")

    def kill(self, reason: str) -> bool:
        """SIGKILL this very process (by PID + start time, never by name), remembering
        why; the restart policy then restarts it as it restarts a crash."""
        if self.state.pid is None or self.state.start_time is None:
            return False
        self.kill_reason = reason
        return ProcessRef(self.state.pid, self.state.start_time).send(signal.SIGKILL)


def stop_processes(children: Iterable[Child]) -> None:
    """Signal every member first, then wait for all, so a tier stops in parallel."""
    live = [c for c in children if c.proc is not None and c.proc.poll() is None]
    for child in live:
        assert child.proc is not None
        child.proc.send_signal(signal.SIGCONT)  # a paused process cannot exit
        child.proc.send_signal(child.comp.stop_signal)
    for child in live:
        assert child.proc is not None
        try:
            child.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait(timeout=5)
