"""What every fault's settings share, and the one method a fault adds: its actions.

A fault is one file: a settings model (what a user writes under `faults:`) whose
`actions` says what injecting it does, as journaled actions, before anything happens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import Field

from harness.faults.base import Action, FaultEnv
from harness.faults.network import toxic_actions
from harness.faults.process import signal_actions
from harness.specs.base import Strict
from harness.specs.durations import Duration
from harness.specs.topology import Link

__all__ = [
    "DIRECTION",
    "MAX_BYTES",
    "MAX_MS",
    "FaultSettings",
    "NetworkSettings",
    "Planned",
    "ProcessSettings",
    "kind",
]

MAX_MS = 24 * 3600 * 1000  # any millisecond setting: a day at most, like durations
MAX_BYTES = 2**40

DIRECTION = (
    "which stream of each connection: upstream (client to server: requests), "
    "downstream (server to client: responses) or both"
)

Direction = Literal["upstream", "downstream", "both"]


class Planned(Protocol):
    """A fault resolved against the live topology (harness.experiment.plan.PlannedFault)."""

    @property
    def index(self) -> int: ...

    @property
    def replicas(self) -> tuple[str, ...]: ...

    @property
    def links(self) -> tuple[Link, ...]: ...

    @property
    def services(self) -> tuple[str, ...]:
        """The services of its replicas (empty: not known, so every service's)."""
        ...


def kind(name: str, what: str) -> Any:
    return Field(description=f"{name}: {what}")


class FaultSettings(Strict):
    family: ClassVar[Literal["network", "process"]]
    if TYPE_CHECKING:
        type: str  # each fault's own Literal (the discriminator of harness.faults.FaultSpec)

    target: str = Field(description="a name under `targets`")
    start_after: Duration = Field(
        0.0, description="delay from the first injection to this fault's start"
    )
    duration: Duration = Field(description="how long the fault stays on")

    def actions(self, planned: Planned, env: FaultEnv, run_id: str) -> list[Action]:
        raise NotImplementedError


class NetworkSettings(FaultSettings):
    family: ClassVar[Literal["network", "process"]] = "network"

    direction: Direction = Field("downstream", description=DIRECTION)
    toxicity: float = Field(
        1.0, gt=0, le=1, description="share of connections the fault applies to (0 to 1]"
    )

    def toxic(self) -> tuple[str, dict[str, Any]]:
        """Toxiproxy's toxic type and attributes for these settings."""
        raise NotImplementedError

    def actions(self, planned: Planned, env: FaultEnv, run_id: str) -> list[Action]:
        return list(toxic_actions(self, planned, run_id))


class ProcessSettings(FaultSettings):
    """A signal to each targeted replica the runtime started; never to an external one."""

    family: ClassVar[Literal["network", "process"]] = "process"
    signal: ClassVar[str]

    def actions(self, planned: Planned, env: FaultEnv, run_id: str) -> list[Action]:
        return list(signal_actions(planned, env, self.signal))
