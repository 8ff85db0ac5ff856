"""Every fault type, one file each (its settings and what injecting it does), in one table.

A new fault type is one file beside these, one line in FAULTS, and its test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Protocol, Union

from pydantic import Field

from harness.faults.bandwidth import Bandwidth
from harness.faults.base import Action, FaultEnv, action_from_json
from harness.faults.blackhole import Blackhole
from harness.faults.chaos import ChaosObject  # registers its action kind for recovery
from harness.faults.cpu_stress import CpuStress
from harness.faults.disk_fill import DiskFill
from harness.faults.kill import Kill
from harness.faults.latency import Latency
from harness.faults.limit_data import LimitData
from harness.faults.pause import Pause
from harness.faults.refused import Refused
from harness.faults.reset_peer import ResetPeer
from harness.faults.settings import FaultSettings, Planned
from harness.faults.slicer import Slicer
from harness.faults.slow_close import SlowClose
from harness.faults.terminate import Terminate

__all__ = [
    "FAULTS",
    "FAULT_TYPES",
    "NETWORK_FAULTS",
    "PROCESS_FAULTS",
    "Action",
    "ChaosObject",
    "FaultEnv",
    "FaultSpec",
    "action_from_json",
    "actions_for",
]

FAULTS: tuple[type[FaultSettings], ...] = (
    Latency,
    Blackhole,
    Refused,
    Bandwidth,
    ResetPeer,
    SlowClose,
    Slicer,
    LimitData,
    Kill,
    Terminate,
    Pause,
    CpuStress,
    DiskFill,
)


def _name(cls: type[FaultSettings]) -> str:
    return str(cls.model_fields["type"].annotation.__args__[0])  # type: ignore[union-attr]


FAULT_TYPES = tuple(_name(c) for c in FAULTS)  # as written under `type:`, in table order
NETWORK_FAULTS = tuple(_name(c) for c in FAULTS if c.family == "network")
PROCESS_FAULTS = tuple(_name(c) for c in FAULTS if c.family == "process")

# the experiment's `faults:` items: one of FAULTS, told apart by `type` (derived from the
# table, so a new fault is one line there); type checkers see the common base
if TYPE_CHECKING:
    FaultSpec = FaultSettings
else:
    FaultSpec = Annotated[Union[FAULTS], Field(discriminator="type")]  # noqa: UP007


class _PlannedFault(Planned, Protocol):
    @property
    def spec(self) -> FaultSettings: ...


def actions_for(fault: _PlannedFault, env: FaultEnv, run_id: str) -> list[Action]:
    """What injecting a planned fault will do, as journaled actions (nothing is applied):
    the runtime's own way if it has one for this fault, else the fault's."""
    own = env.runtime.own_actions(fault.spec, fault, run_id)
    return own if own is not None else fault.spec.actions(fault, env, run_id)
