"""slicer: data is cut into small packets, optionally delayed (Toxiproxy's slicer toxic)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from harness.faults.settings import MAX_BYTES, MAX_MS, NetworkSettings, kind


class Slicer(NetworkSettings):
    type: Literal["slicer"] = kind("slicer", "cut data into small packets")
    average_size: int = Field(ge=1, le=MAX_BYTES, description="mean packet size, bytes")
    size_variation: int = Field(0, ge=0, le=MAX_BYTES, description="+/- on the size, bytes")
    delay_us: int = Field(0, ge=0, le=MAX_MS, description="pause between packets, microseconds")

    def toxic(self) -> tuple[str, dict[str, Any]]:
        sizes = {"average_size": self.average_size, "size_variation": self.size_variation}
        return "slicer", {**sizes, "delay": self.delay_us}
