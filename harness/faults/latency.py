"""latency: every chunk of data on the link is delayed (Toxiproxy's latency toxic)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from harness.faults.settings import NetworkSettings, kind


class Latency(NetworkSettings):
    type: Literal["latency"] = kind("latency", "delay every chunk of data")
    latency_ms: int = Field(ge=1, le=60_000, description="added delay, milliseconds")
    jitter_ms: int = Field(0, ge=0, le=60_000, description="random +/- on the delay, ms")

    def toxic(self) -> tuple[str, dict[str, Any]]:
        return "latency", {"latency": self.latency_ms, "jitter": self.jitter_ms}
