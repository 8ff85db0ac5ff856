"""Network faults through Toxiproxy: toxics on a proxy, or the proxy disabled."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from harness.clients.toxiproxy import Toxic
from harness.experiment.plan import PlannedFault
from harness.faults.base import FaultEnv, register

__all__ = ["DisableProxy", "ToxicOn", "network_actions"]


@register
@dataclass(frozen=True)
class ToxicOn:
    kind: ClassVar[str] = "toxic"
    proxy: str
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, Any]

    def apply(self, env: FaultEnv) -> None:
        env.toxiproxy.add_toxic(
            self.proxy,
            Toxic(
                name=self.name,
                type=self.type,
                stream=self.stream,  # type: ignore[arg-type]
                toxicity=self.toxicity,
                attributes=self.attributes,
            ),
        )

    def revert(self, env: FaultEnv) -> None:
        env.toxiproxy.remove_toxic(self.proxy, self.name, missing_ok=True)

    def describe(self) -> str:
        attrs = ", ".join(f"{k}={v}" for k, v in self.attributes.items())
        return f"{self.type} toxic on {self.proxy} ({self.stream}{', ' + attrs if attrs else ''})"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@register
@dataclass(frozen=True)
class DisableProxy:
    kind: ClassVar[str] = "proxy_disabled"
    proxy: str

    def apply(self, env: FaultEnv) -> None:
        env.toxiproxy.set_enabled(self.proxy, False)

    def revert(self, env: FaultEnv) -> None:
        env.toxiproxy.set_enabled(self.proxy, True)

    def describe(self) -> str:
        return f"proxy {self.proxy} disabled (connections refused)"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


def _toxic(fault: PlannedFault) -> tuple[str, dict[str, Any]]:
    """Toxiproxy's toxic type and attributes for a fault spec."""
    s: Any = fault.spec
    return {
        "latency": lambda: ("latency", {"latency": s.latency_ms, "jitter": s.jitter_ms}),
        "blackhole": lambda: ("timeout", {"timeout": 0}),
        "bandwidth": lambda: ("bandwidth", {"rate": s.rate_kb_per_s}),
        "reset_peer": lambda: ("reset_peer", {"timeout": s.timeout_ms}),
        "slow_close": lambda: ("slow_close", {"delay": s.delay_ms}),
        "slicer": lambda: (
            "slicer",
            {
                "average_size": s.average_size,
                "size_variation": s.size_variation,
                "delay": s.delay_us,
            },
        ),
        "limit_data": lambda: ("limit_data", {"bytes": s.bytes}),
    }[s.type]()


def network_actions(fault: PlannedFault, run_id: str) -> list[ToxicOn | DisableProxy]:
    """The actions for one planned network fault (nothing is applied here)."""
    spec: Any = fault.spec
    if spec.type == "refused":
        return [DisableProxy(link.name) for link in fault.links]
    toxic_type, attrs = _toxic(fault)
    streams = ("upstream", "downstream") if spec.direction == "both" else (spec.direction,)
    return [
        ToxicOn(
            link.name,
            f"harness-{run_id}-f{fault.index}-{stream}",
            toxic_type,
            stream,
            spec.toxicity,
            attrs,
        )
        for link in fault.links
        for stream in streams
    ]
