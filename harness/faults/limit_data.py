"""limit_data: each connection is closed after some bytes (Toxiproxy's limit_data toxic)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from harness.faults.settings import MAX_BYTES, NetworkSettings, kind


class LimitData(NetworkSettings):
    type: Literal["limit_data"] = kind("limit_data", "close after some bytes")
    bytes: int = Field(ge=0, le=MAX_BYTES, description="bytes passed before the close")

    def toxic(self) -> tuple[str, dict[str, Any]]:
        return "limit_data", {"bytes": self.bytes}
