"""What every fault driver produces: actions that can be journaled, applied and reverted.

A driver turns one planned fault into a list of actions *before* anything happens;
the engine journals each action, then applies it, and pushes its revert onto the
rollback stack. An action is plain data (`to_json`/`from_json`) so `harness recover`
and the watchdog can revert it from the journal in another process.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from harness.clients.toxiproxy import ToxiproxyClient
from harness.errors import StackError
from harness.runtime.base import Instance, Runtime

if TYPE_CHECKING:
    from harness.faults.settings import Planned

__all__ = [
    "Action",
    "FaultEnv",
    "action_from_json",
    "killed_by",
    "live_targets",
    "register",
    "toxiproxy_of",
]


@dataclass
class FaultEnv:
    """What actions act through: Toxiproxy for the network (None where the runtime has
    none, as on Kubernetes without proxies), the runtime for processes and its own
    fault engine."""

    toxiproxy: ToxiproxyClient | None
    runtime: Runtime
    restart_timeout: float = 30.0

    def proxies(self) -> ToxiproxyClient:
        """Toxiproxy, for an action that needs it; an error naming the runtime without."""
        if self.toxiproxy is None:
            raise StackError(
                f"the {self.runtime.kind} runtime has no Toxiproxy: no proxy fault acts here"
            )
        return self.toxiproxy


def toxiproxy_of(runtime: Runtime) -> AbstractContextManager[ToxiproxyClient | None]:
    """A client of the Toxiproxy the runtime's endpoints name, closed on exit; None
    (nothing to close) when it has none."""
    url = runtime.endpoints().toxiproxy
    return ToxiproxyClient(url) if url is not None else nullcontext(None)


class Action(Protocol):
    kind: ClassVar[str]

    def apply(self, env: FaultEnv) -> None: ...

    def revert(self, env: FaultEnv) -> None: ...

    def describe(self) -> str: ...

    def to_json(self) -> dict[str, Any]: ...


_KINDS: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make an action kind known to `action_from_json`."""
    _KINDS[cls.kind] = cls  # type: ignore[attr-defined]
    return cls


def action_from_json(data: dict[str, Any]) -> Action:
    fields = dict(data)
    cls = _KINDS[fields.pop("kind")]
    return cls(**fields)  # type: ignore[no-any-return]


def live_targets(planned: Planned, runtime: Runtime) -> dict[str, Instance]:
    """The instances live now of the planned fault's services, by name: only those
    services are listed (in a cluster of a thousand pods, listing every service before
    each fault spread a 10% kill over 45 s)."""
    services: tuple[str | None, ...] = planned.services or (None,)
    return {i.name: i for service in services for i in runtime.instances(service)}


def killed_by(action: Action) -> tuple[Instance, ...]:
    """The instances an action kills, whose replacements the engine measures: a SIGKILL's
    or SIGTERM's instance, a Chaos Mesh pod-kill's pods (an action says so by `killed`)."""
    return tuple(getattr(action, "killed", ()))
