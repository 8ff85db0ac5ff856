"""kill: SIGKILL to each targeted replica (the supervisor's restart is part of recovery)."""

from __future__ import annotations

from typing import ClassVar, Literal

from harness.faults.settings import ProcessSettings, kind


class Kill(ProcessSettings):
    """SIGKILL; the supervisor's restart is part of recovery (duration: how long we watch)."""

    signal: ClassVar[str] = "SIGKILL"

    type: Literal["kill"] = kind("kill", "SIGKILL the replicas (duration: how long we watch)")
