"""The seam between the harness and wherever services run.

A few questions, nothing more: which instances of a service are live (each with an
identity a successor can never share: pid + start time locally, a container id or a
pod uid elsewhere), is one ready, signal one by identity (never by name or pattern),
which instance replaced one that was killed, is the runtime's control plane alive
(the watchdog stops retrying when the stack itself is gone), where the stack's
endpoints are, and which fault types it can inject (checked in preflight, before
anything is injected). Network faults go through Toxiproxy wherever the proxies are.
Process faults, planning, preflight, the fault loop, the watchdog and `recover` use
only this, and rebuild it from the journal (`harness.runtime.runtime_from`), so a
Kubernetes runtime (where instances come and go on their own) plugs in here without
touching them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Endpoints", "Instance", "Runtime"]


@dataclass(frozen=True)
class Instance:
    service: str
    name: str  # the replica's name in the topology, e.g. api-2
    identity: str  # e.g. "pid:1234:5678901" (pid and kernel start time)


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of the stack's control plane, as the harness reaches them."""

    prometheus: str
    alertmanager: str
    alert_receiver: str  # where Alertmanager's webhooks land: the proof of delivery
    toxiproxy: str | None = None  # None: no Toxiproxy, so no network faults through it


class Runtime(Protocol):
    kind: str

    def describe(self) -> dict[str, str]:
        """How another process reaches this runtime again (journaled; see runtime_from)."""
        ...

    def instances(self, service: str | None = None) -> list[Instance]:
        """Live instances (of `service`, or all), in topology order."""
        ...

    def ready(self, instance: Instance) -> bool: ...

    def signal(self, instance: Instance, signal: str) -> bool:
        """Send SIGKILL/SIGTERM/SIGSTOP/SIGCONT to exactly this instance; False if it is gone."""
        ...

    def replacement(self, instance: Instance) -> Instance | None:
        """The live instance that took this one's place (same name, new identity), if any."""
        ...

    def control_plane_alive(self) -> bool:
        """Whether what runs the stack answers (locally: the supervisor process is alive).

        False means the stack is gone, and its faults with it: the watchdog stops there."""
        ...

    def endpoints(self) -> Endpoints: ...

    def supported_faults(self) -> frozenset[str]:
        """The fault types (`type:` in an experiment) this runtime can inject."""
        ...
