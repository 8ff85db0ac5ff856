"""The action of process faults (kill, terminate, pause): a signal to one instance.

Signals go through the runtime, to the identity it gave the instance (locally PID
*and* start time), never to a process found by name. Reverting a kill means waiting
until the runtime has a replacement; reverting a pause is SIGCONT.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.errors import HarnessError
from harness.faults.base import FaultEnv, live_targets, register
from harness.runtime.base import Instance

if TYPE_CHECKING:
    from harness.faults.settings import Planned

__all__ = ["Signal", "signal_actions"]


@register
@dataclass(frozen=True)
class Signal:
    """A signal to one instance, addressed by the identity the runtime gave it (never by
    name): a successor with the same name is never hit by a revert meant for this one."""

    kind: ClassVar[str] = "signal"
    replica: str
    service: str
    identity: str
    signal: str  # "SIGKILL" | "SIGTERM" | "SIGSTOP"

    @property
    def instance(self) -> Instance:
        return Instance(self.service, self.replica, self.identity)

    @property
    def killed(self) -> tuple[Instance, ...]:
        """The instance a SIGKILL or SIGTERM ends (`killed_by`); a pause kills none."""
        return (self.instance,) if self.signal in ("SIGKILL", "SIGTERM") else ()

    def apply(self, env: FaultEnv) -> None:
        if not env.runtime.signal(self.instance, self.signal):
            raise HarnessError(
                f"{self.replica} ({self.identity}) is gone; nothing to {self.signal}"
            )

    def revert(self, env: FaultEnv) -> None:
        if self.signal == "SIGSTOP":
            env.runtime.signal(self.instance, "SIGCONT")  # False: gone, nothing left to resume
            return
        self._await_replacement(env)

    def _await_replacement(self, env: FaultEnv) -> None:
        deadline = time.monotonic() + env.restart_timeout
        while time.monotonic() < deadline:
            if env.runtime.replacement(self.instance) is not None:
                return
            time.sleep(0.1)
        raise HarnessError(f"{self.replica} was not restarted within {env.restart_timeout:.0f}s")

    def describe(self) -> str:
        return f"{self.signal} to {self.replica} ({self.identity})"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


def signal_actions(planned: Planned, env: FaultEnv, signal: str) -> list[Signal]:
    """One signal per targeted replica, addressed to the instance that is live now."""
    live = live_targets(planned, env.runtime)
    actions = []
    for name in planned.replicas:
        inst = live.get(name)
        if inst is None:
            raise HarnessError(f"{name} is not live: nothing to {signal}")
        actions.append(Signal(name, inst.service, inst.identity, signal))
    return actions
