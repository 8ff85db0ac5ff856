"""slow_close: the close of each connection is delayed (Toxiproxy's slow_close toxic)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from harness.faults.settings import MAX_MS, NetworkSettings, kind


class SlowClose(NetworkSettings):
    type: Literal["slow_close"] = kind("slow_close", "delay the close of connections")
    delay_ms: int = Field(ge=1, le=MAX_MS, description="delay before closing, milliseconds")

    def toxic(self) -> tuple[str, dict[str, Any]]:
        return "slow_close", {"delay": self.delay_ms}
