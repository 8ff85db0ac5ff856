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
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from harness.faults.base import Action
    from harness.faults.settings import FaultSettings, Planned

__all__ = ["Endpoints", "FaultObjects", "Instance", "Runtime"]


@dataclass(frozen=True)
class Instance:
    service: str
    name: str  # the replica's name in the topology, e.g. api-2
    identity: str  # e.g. "pid:1234:5678901" (pid and kernel start time)


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of the stack's control plane, as the harness reaches them."""

    prometheus: str
    alertmanager: str | None  # None: no Alertmanager the harness reaches (a cluster's, unnamed)
    alert_receiver: str | None  # where Alertmanager's webhooks land: the proof of delivery
    toxiproxy: str | None = None  # None: no Toxiproxy, so no network faults through it


class FaultObjects(Protocol):
    """A runtime's own fault engine (Chaos Mesh on Kubernetes): objects that are the faults.

    Each object carries the run's id as a label, so whoever rebuilds the runtime from
    the journal (the watchdog, `recover`) finds every object of a run even if the
    harness died between creating one and journaling that it had."""

    def create(self, manifest: dict[str, Any]) -> None:
        """Create it and await until it is injected; past the deadline, an error naming
        the object (it stays: its revert deletes it)."""
        ...

    def delete(self, manifest: dict[str, Any]) -> None:
        """Delete it and await until it is gone; still there past the deadline (a stuck
        finalizer), an error naming it and what to check. Gone already is done."""
        ...

    def sweep(self, run_id: str) -> list[str]:
        """Delete every object labelled with the run id, await them gone, and say which;
        an error naming any still there past the deadline."""
        ...


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

    def fault_refusal(self, settings: FaultSettings) -> str | None:
        """Why it cannot inject a fault of a supported type as written (a setting its
        engine has no counterpart for); None: it can. Asked in preflight."""
        ...

    def replacement_stages(self, instance: Instance) -> dict[str, Any] | None:
        """What it measured of a killed instance's replacement, stage by stage (on
        Kubernetes: seconds from the delete to created, Running, Ready); None: nothing
        beyond the engine's own killed → ready."""
        ...

    def fault_objects(self) -> FaultObjects | None:
        """Its own fault engine, if it has one (None: signals and Toxiproxy only)."""
        ...

    def own_actions(
        self, settings: FaultSettings, planned: Planned, run_id: str
    ) -> list[Action] | None:
        """How this runtime injects a planned fault itself (Chaos Mesh objects on
        Kubernetes); None: the fault's own actions (a signal through `signal`, a toxic
        through Toxiproxy)."""
        ...
