"""terminate: SIGTERM to each targeted replica (a graceful stop; the supervisor restarts it)."""

from __future__ import annotations

from typing import ClassVar, Literal

from harness.faults.settings import ProcessSettings, kind


class Terminate(ProcessSettings):
    signal: ClassVar[str] = "SIGTERM"

    type: Literal["terminate"] = kind("terminate", "SIGTERM the replicas")
