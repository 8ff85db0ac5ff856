"""The stack's state file: written by the supervisor, read by `status`, `down` and runs.

It is the single record of what was started (PID + start time), so `down` and the
fault drivers can signal exactly those processes and nothing else.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from harness.procs import ProcessRef

__all__ = ["ComponentState", "StackState", "failure_text", "read_state", "write_state"]

# "done": a one-shot (a service's init) that finished; "failed" outlives the teardown
Status = Literal["pending", "starting", "running", "backoff", "done", "stopped", "failed"]
Phase = Literal["starting", "ready", "stopping", "stopped", "failed"]


class ComponentState(BaseModel):
    name: str
    kind: str
    service: str | None = None
    port: int | None = None  # None: a one-shot that listens on nothing (an init)
    pid: int | None = None
    start_time: int | None = None
    status: Status = "pending"
    restarts: int = 0
    last_exit: int | None = None
    started_at: float | None = None
    log: str
    error: str | None = None  # why it failed while the stack started
    log_tail: list[str] = []  # the last lines its failing process wrote
    last_restart: str | None = None  # why the supervisor last restarted it

    def process(self) -> ProcessRef | None:
        if self.pid is None or self.start_time is None:
            return None
        return ProcessRef(self.pid, self.start_time)


class StackState(BaseModel):
    stack_file: str
    run_dir: str
    supervisor_pid: int
    supervisor_start_time: int
    phase: Phase = "starting"
    error: str | None = None
    urls: dict[str, str] = {}
    components: list[ComponentState] = []
    updated_at: float = 0.0

    def supervisor(self) -> ProcessRef:
        return ProcessRef(self.supervisor_pid, self.supervisor_start_time)

    def component(self, name: str) -> ComponentState:
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(name)


def failure_text(state: StackState) -> str:
    """What failed, for a person: the stack's error, then each failed component's exit
    and the last lines of its own log (not the supervisor's)."""
    parts = [state.error or f"the stack is {state.phase}"]
    for comp in state.components:
        if comp.status != "failed":
            continue
        if not comp.log_tail:
            parts.append(f"{comp.name}: its log {comp.log} has nothing from this start")
            continue
        parts.append(f"{comp.name}: the last {len(comp.log_tail)} lines of {comp.log}:")
        parts += [f"  {line}" for line in comp.log_tail]
    return "\n".join(parts)


def write_state(path: Path, state: StackState) -> None:
    """Atomically replace the state file (readers never see half a file)."""
    state.updated_at = time.time()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, path)


def read_state(path: Path) -> StackState | None:
    try:
        return StackState.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
