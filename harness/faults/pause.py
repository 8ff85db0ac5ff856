"""pause: SIGSTOP to each targeted replica (the process is frozen, its sockets stay open)."""

from __future__ import annotations

from typing import ClassVar, Literal

from harness.faults.settings import ProcessSettings, kind


class Pause(ProcessSettings):
    """SIGSTOP for the duration, then SIGCONT."""

    signal: ClassVar[str] = "SIGSTOP"

    type: Literal["pause"] = kind("pause", "SIGSTOP for the duration, then SIGCONT")
