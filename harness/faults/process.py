"""Process faults on replicas the stack launched: kill, terminate, pause.

Signals go only to the PID *and* start time the supervisor recorded, never to a
process found by name. Reverting a kill means waiting until the supervisor has the
replica running again; reverting a pause is SIGCONT.
"""

from __future__ import annotations

import signal
import time
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from harness.errors import HarnessError
from harness.experiment.plan import PlannedFault
from harness.faults.base import FaultEnv, register
from harness.runtime.local.procs import ProcessRef

__all__ = ["Signal", "process_actions"]

_SIGNALS = {"kill": signal.SIGKILL, "terminate": signal.SIGTERM, "pause": signal.SIGSTOP}


@register
@dataclass(frozen=True)
class Signal:
    kind: ClassVar[str] = "signal"
    replica: str
    pid: int
    start_time: int
    signal: str  # "SIGKILL" | "SIGTERM" | "SIGSTOP"

    @property
    def process(self) -> ProcessRef:
        return ProcessRef(self.pid, self.start_time)

    def apply(self, env: FaultEnv) -> None:
        if not self.process.send(signal.Signals[self.signal]):
            raise HarnessError(f"{self.replica} (pid {self.pid}) is gone; nothing to {self.signal}")

    def revert(self, env: FaultEnv) -> None:
        if self.signal == "SIGSTOP":
            self.process.send(signal.SIGCONT)
            return
        self._await_restart(env)

    def _await_restart(self, env: FaultEnv) -> None:
        deadline = time.monotonic() + env.restart_timeout
        while time.monotonic() < deadline:
            comp = env.stack_state().component(self.replica)
            ref = comp.process()
            if (
                comp.pid != self.pid
                and ref is not None
                and ref.alive()
                and comp.status == "running"
            ):
                return
            time.sleep(0.1)
        raise HarnessError(f"{self.replica} was not restarted within {env.restart_timeout:.0f}s")

    def describe(self) -> str:
        return f"{self.signal} to {self.replica} (pid {self.pid})"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


def process_actions(fault: PlannedFault, env: FaultEnv) -> list[Signal]:
    """One signal per targeted replica, addressed to the process the supervisor runs now."""
    state = env.stack_state()
    sig = _SIGNALS[fault.spec.type].name
    actions = []
    for name in fault.replicas:
        comp = state.component(name)
        if comp.pid is None or comp.start_time is None:
            raise HarnessError(f"{name} has no recorded process")
        actions.append(Signal(name, comp.pid, comp.start_time, sig))
    return actions
