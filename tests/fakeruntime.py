"""A runtime in memory, for unit tests of code that speaks only through the seam
(`harness.runtime.base.Runtime`): planning, preflight, the fault loop, the watchdog.

Replicas are names; each live one has an identity `fake:<name>:<n>` that a successor
never shares. A SIGKILL or SIGTERM ends the instance (and, with `respawn`, its
replacement takes the name at once, not yet ready until `make_ready`); SIGSTOP and
SIGCONT leave it in place. Its control plane is alive until `stop_control_plane`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.runtime.base import Endpoints, Instance

__all__ = ["ENDPOINTS", "FakeObjects", "FakePlanned", "FakeRuntime"]

ENDPOINTS = Endpoints(
    prometheus="http://prometheus.test",
    alertmanager="http://alertmanager.test",
    alert_receiver="http://receiver.test",
    toxiproxy="http://toxiproxy.test",
)

ENDING = ("SIGKILL", "SIGTERM")


class FakeRuntime:
    kind = "fake"

    def __init__(
        self,
        replicas: dict[str, str],  # replica name → its service, in topology order
        supported: frozenset[str] = frozenset(),
        endpoints: Endpoints = ENDPOINTS,
        respawn: bool = True,
    ) -> None:
        self._numbers = itertools.count(1)
        self._order = list(replicas)
        self.live: dict[str, Instance] = {}
        self.unready: set[str] = set()  # identities that are not ready (yet)
        self.signals: list[tuple[str, str]] = []  # (identity, signal) as sent
        self.alive = True
        self.supported, self._endpoints, self.respawn = supported, endpoints, respawn
        self.objects: FakeObjects | None = None  # a fault engine, when a test gives one
        self.refusals: dict[str, str] = {}  # fault type → why its settings are refused
        for name, service in replicas.items():
            self.live[name] = self._new(service, name)

    def _new(self, service: str, name: str) -> Instance:
        return Instance(service, name, f"fake:{name}:{next(self._numbers)}")

    # -- what a test does to it --------------------------------------------------------

    def stop_control_plane(self) -> None:
        self.alive = False

    def make_ready(self, instance: Instance, ready: bool = True) -> None:
        (self.unready.discard if ready else self.unready.add)(instance.identity)

    def end(self, name: str) -> None:
        """The instance named `name` is gone, with no replacement (until `respawn_now`)."""
        self.live.pop(name, None)

    def respawn_now(self, service: str, name: str) -> Instance:
        self.live[name] = new = self._new(service, name)
        self.unready.add(new.identity)
        return new

    # -- the seam -----------------------------------------------------------------------

    def describe(self) -> dict[str, str]:
        return {"kind": self.kind}

    def instances(self, service: str | None = None) -> list[Instance]:
        return [
            self.live[n]
            for n in self._order
            if n in self.live and (service is None or self.live[n].service == service)
        ]

    def ready(self, instance: Instance) -> bool:
        now = self.live.get(instance.name)
        return now == instance and instance.identity not in self.unready

    def signal(self, instance: Instance, signal: str) -> bool:
        if self.live.get(instance.name) != instance:
            return False  # gone: never the successor that took its name
        self.signals.append((instance.identity, signal))
        if signal in ENDING:
            self.end(instance.name)
            if self.respawn:
                self.respawn_now(instance.service, instance.name)
        return True

    def replacement(self, instance: Instance) -> Instance | None:
        now = self.live.get(instance.name)
        return now if now is not None and now.identity != instance.identity else None

    def control_plane_alive(self) -> bool:
        return self.alive

    def endpoints(self) -> Endpoints:
        return self._endpoints

    def supported_faults(self) -> frozenset[str]:
        return self.supported

    def fault_objects(self) -> FakeObjects | None:
        """The fake fault engine when given one (`objects`), else none."""
        return self.objects

    def fault_refusal(self, settings: Any) -> str | None:
        """What a test says this runtime refuses of a fault type (`refusals`), else None."""
        return self.refusals.get(settings.type)

    def replacement_stages(self, instance: Instance) -> None:
        """None: killed → ready, as the engine measures it, is all there is."""
        return None

    def own_actions(self, settings: object, planned: object, run_id: str) -> None:
        """None: every fault acts through signals and Toxiproxy."""
        return None


class FakeObjects:
    """A fault engine in memory: objects by name with their run label; a sweep deletes
    a run's objects, failing the first `stuck` times (a held finalizer)."""

    def __init__(self, stuck: int = 0) -> None:
        self.objects: dict[str, str] = {}  # name → run id
        self.stuck = stuck
        self.sweeps: list[str] = []

    def create(self, manifest: dict[str, Any]) -> None:
        meta = manifest["metadata"]
        self.objects[meta["name"]] = meta["labels"]["chaos-harness/run"]

    def delete(self, manifest: dict[str, Any]) -> None:
        self.objects.pop(manifest["metadata"]["name"], None)

    def sweep(self, run_id: str) -> list[str]:
        self.sweeps.append(run_id)
        mine = sorted(n for n, r in self.objects.items() if r == run_id)
        if mine and self.stuck:
            self.stuck -= 1
            raise HarnessError(f"{mine[0]} is still there, held by its finalizer")
        for name in mine:
            del self.objects[name]
        return [f"FakeChaos {name}" for name in mine]


@dataclass(frozen=True)
class FakePlanned:
    """A planned fault as the fault drivers read it (harness.faults.settings.Planned)."""

    index: int
    replicas: tuple[str, ...]  # on Kubernetes: namespace/pod
    links: tuple = ()
    services: tuple[str, ...] = ()  # not known: every service is listed

