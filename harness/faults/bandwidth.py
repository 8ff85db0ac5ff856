"""bandwidth: the link's throughput is capped (Toxiproxy's bandwidth toxic, KB/s)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from harness.faults.settings import NetworkSettings, kind
from harness.specs.yamlload import refuse_old_key


class Bandwidth(NetworkSettings):
    type: Literal["bandwidth"] = kind("bandwidth", "limit the throughput")
    rate_kb_per_s: int = Field(
        ge=1,
        le=10_000_000,
        description="kilobytes per second as Toxiproxy means it: 1 KB = 1000 bytes "
        "(a rate of 0 would mean no limit, so it is not allowed)",
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        message = "renamed to rate_kb_per_s: the rate is kilobytes per second"
        return refuse_old_key(data, "rate_kbps", message)

    def toxic(self) -> tuple[str, dict[str, Any]]:
        return "bandwidth", {"rate": self.rate_kb_per_s}
