"""blackhole: bytes vanish and connections hang (Toxiproxy's timeout toxic with 0 ms)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from harness.faults.settings import DIRECTION, Direction, NetworkSettings, kind


class Blackhole(NetworkSettings):
    """Bytes vanish and connections hang (Toxiproxy's timeout toxic with 0 ms)."""

    type: Literal["blackhole"] = kind("blackhole", "data vanishes, connections hang")
    direction: Direction = Field("upstream", description=DIRECTION)

    def toxic(self) -> tuple[str, dict[str, Any]]:
        return "timeout", {"timeout": 0}
