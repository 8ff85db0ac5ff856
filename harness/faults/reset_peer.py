"""reset_peer: connections end with a TCP RST (Toxiproxy's reset_peer toxic)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from harness.faults.settings import MAX_MS, NetworkSettings, kind


class ResetPeer(NetworkSettings):
    type: Literal["reset_peer"] = kind("reset_peer", "connections end with a TCP RST")
    timeout_ms: int = Field(0, ge=0, le=MAX_MS, description="reset after this many ms")

    def toxic(self) -> tuple[str, dict[str, Any]]:
        return "reset_peer", {"timeout": self.timeout_ms}
