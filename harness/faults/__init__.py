"""Fault drivers, one per family, in one explicit table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.experiment.plan import PlannedFault
from harness.faults.base import Action, FaultEnv, action_from_json
from harness.faults.network import network_actions
from harness.faults.process import process_actions
from harness.specs.experiment import NETWORK_FAULTS, PROCESS_FAULTS

__all__ = ["Action", "FaultEnv", "action_from_json", "actions_for"]

Driver = Callable[[PlannedFault, FaultEnv, str], list[Any]]

DRIVERS: dict[str, Driver] = {
    **{t: lambda f, env, run_id: network_actions(f, run_id) for t in NETWORK_FAULTS},
    **{t: lambda f, env, run_id: process_actions(f, env) for t in PROCESS_FAULTS},
}


def actions_for(fault: PlannedFault, env: FaultEnv, run_id: str) -> list[Action]:
    """What injecting `fault` will do, as journaled actions (nothing is applied here)."""
    return DRIVERS[fault.spec.type](fault, env, run_id)
