"""refused: the proxy is disabled, so new connections are refused and open ones closed."""

from __future__ import annotations

from typing import ClassVar, Literal

from harness.faults.base import Action, FaultEnv
from harness.faults.network import DisableProxy
from harness.faults.settings import FaultSettings, Planned, kind


class Refused(FaultSettings):
    """The proxy is disabled: new connections are refused, open ones closed."""

    family: ClassVar[Literal["network", "process"]] = "network"

    type: Literal["refused"] = kind("refused", "the proxy is off: connections refused")

    def actions(self, planned: Planned, env: FaultEnv, run_id: str) -> list[Action]:
        return [DisableProxy(link.name) for link in planned.links]
