"""The local runtime: replicas are the supervisor's children, known by PID + start time.

Everything it knows comes from the supervisor's state file, read afresh on each call
(the supervisor restarts replicas on its own), so the watchdog and `recover` in other
processes see exactly what the harness sees.
"""

from __future__ import annotations

import signal as signals
from pathlib import Path

from harness.errors import StackError
from harness.procs import ProcessRef
from harness.rundir import RunDir
from harness.runtime.base import Endpoints, Instance
from harness.runtime.endpoints import endpoints_of
from harness.runtime.local.state import ComponentState, StackState, read_state
from harness.runtime.readiness import replica_ready
from harness.specs.topology import Topology

__all__ = ["LocalRuntime", "identity_of", "process_of"]


def identity_of(pid: int, start_time: int) -> str:
    return f"pid:{pid}:{start_time}"


def process_of(instance: Instance) -> ProcessRef:
    kind, pid, start = instance.identity.split(":")
    if kind != "pid":
        raise StackError(f"{instance.name}: {instance.identity!r} is not a local process")
    return ProcessRef(int(pid), int(start))


class LocalRuntime:
    kind = "local"

    def __init__(self, topo: Topology, run_dir: Path, stack_file: Path | None = None) -> None:
        self.topo, self.run, self.stack_file = topo, RunDir(run_dir), stack_file

    def describe(self) -> dict[str, str]:
        """What the journal keeps so another process can rebuild this runtime."""
        stack = str(self.stack_file.resolve()) if self.stack_file else ""
        return {"kind": self.kind, "stack_file": stack, "run_dir": str(self.run.root.resolve())}

    def state(self) -> StackState:
        state = read_state(self.run.state_file)
        if state is None:
            raise StackError(f"no stack state in {self.run.root}: is the stack up?")
        return state

    def instances(self, service: str | None = None) -> list[Instance]:
        return [
            inst
            for comp in self.state().components
            if comp.kind == "app" and (service is None or comp.service == service)
            if (inst := _live(comp)) is not None
        ]

    def ready(self, instance: Instance) -> bool:
        return process_of(instance).alive() and replica_ready(
            self.topo, self.topo.replica_named(instance.name)
        )

    def signal(self, instance: Instance, signal: str) -> bool:
        return process_of(instance).send(signals.Signals[signal])

    def replacement(self, instance: Instance) -> Instance | None:
        now = next((i for i in self.instances() if i.name == instance.name), None)
        return now if now is not None and now.identity != instance.identity else None

    def control_plane_alive(self) -> bool:
        """The supervisor that runs the stack is alive (by PID + start time) and says the
        stack is up: one stopping or failed takes its proxies and replicas with it."""
        state = read_state(self.run.state_file)
        return state is not None and state.phase == "ready" and state.supervisor().alive()

    def endpoints(self) -> Endpoints:
        return endpoints_of(self.topo)

    def supported_faults(self) -> frozenset[str]:
        """Every fault type: Toxiproxy sits on every link, and replicas are processes here."""
        from harness.faults import FAULT_TYPES  # the faults import this module

        return frozenset(FAULT_TYPES)

    def fault_objects(self) -> None:
        """None: no fault engine of its own: signals and Toxiproxy"""
        return None

    def fault_refusal(self, settings: object) -> None:
        """None: a supported type is injected as written."""
        return None

    def replacement_stages(self, instance: Instance) -> None:
        """None: killed → ready, as the engine measures it, is all there is."""
        return None

    def own_actions(self, settings: object, planned: object, run_id: str) -> None:
        """None: every fault acts through signals and Toxiproxy."""
        return None


def _live(comp: ComponentState) -> Instance | None:
    ref = comp.process()
    if ref is None or not ref.alive() or comp.service is None:
        return None
    return Instance(comp.service, comp.name, identity_of(ref.pid, ref.start_time))
