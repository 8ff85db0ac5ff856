"""The actions of network faults, through Toxiproxy: a toxic on a proxy, or the proxy
disabled. Each network fault's file says which toxic with which attributes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.clients.toxiproxy import Toxic
from harness.faults.base import FaultEnv, register

if TYPE_CHECKING:
    from harness.faults.settings import NetworkSettings, Planned

__all__ = ["DisableProxy", "ToxicOn", "toxic_actions"]


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
        env.proxies().add_toxic(
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
        env.proxies().remove_toxic(self.proxy, self.name, missing_ok=True)

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
        env.proxies().set_enabled(self.proxy, False)

    def revert(self, env: FaultEnv) -> None:
        env.proxies().set_enabled(self.proxy, True)

    def describe(self) -> str:
        return f"proxy {self.proxy} disabled (connections refused)"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


def toxic_actions(settings: NetworkSettings, planned: Planned, run_id: str) -> list[ToxicOn]:
    """One toxic per link and stream, named after the run so `recover` finds only ours."""
    toxic_type, attrs = settings.toxic()
    both = ("upstream", "downstream")
    streams = both if settings.direction == "both" else (settings.direction,)
    return [
        ToxicOn(
            link.name,
            f"harness-{run_id}-f{planned.index}-{stream}",
            toxic_type,
            stream,
            settings.toxicity,
            attrs,
        )
        for link in planned.links
        for stream in streams
    ]
