"""What every fault driver produces: actions that can be journaled, applied and reverted.

A driver turns one planned fault into a list of actions *before* anything happens;
the engine journals each action, then applies it, and pushes its revert onto the
rollback stack. An action is plain data (`to_json`/`from_json`) so `harness recover`
and the watchdog can revert it from the journal in another process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from harness.clients.toxiproxy import ToxiproxyClient
from harness.errors import StackError
from harness.runtime.base import Runtime

__all__ = ["Action", "FaultEnv", "action_from_json", "register", "toxiproxy_of"]


@dataclass
class FaultEnv:
    """What actions act through: Toxiproxy for the network, the runtime for processes."""

    toxiproxy: ToxiproxyClient
    runtime: Runtime
    restart_timeout: float = 30.0


def toxiproxy_of(runtime: Runtime) -> ToxiproxyClient:
    """A client of the Toxiproxy the runtime's endpoints name (the caller closes it)."""
    url = runtime.endpoints().toxiproxy
    if url is None:
        raise StackError(f"the {runtime.kind} runtime has no Toxiproxy: no network fault acts here")
    return ToxiproxyClient(url)


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
