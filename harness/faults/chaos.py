"""The action of a fault a runtime's own engine injects: one Chaos Mesh object.

The object *is* the fault: applying it creates the object and awaits Chaos Mesh's
`AllInjected`, reverting it deletes the object and awaits it gone (Chaos Mesh recovers
the fault before it lets go). The manifest is journaled whole, as plain data, before it
is created, so the watchdog and `harness recover` delete exactly that object from the
journal in another process; its run labels let them find it even if the harness died
between creating it and journaling that it had (`FaultObjects.sweep`).

A pod-kill names the pods it kills (`killed`), so the engine measures their
replacements as it does after a SIGKILL; its revert, like a kill's, waits for them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from harness.errors import HarnessError
from harness.faults.base import FaultEnv, register
from harness.runtime.base import FaultObjects, Instance

__all__ = ["ChaosObject"]


@register
@dataclass(frozen=True)
class ChaosObject:
    """One object of the runtime's fault engine, named and labelled before it exists."""

    kind: ClassVar[str] = "chaos_object"
    api_version: str  # e.g. chaos-mesh.org/v1alpha1
    chaos_kind: str  # e.g. PodChaos (`kind` is the action's own kind)
    namespace: str
    name: str
    manifest: dict[str, Any]
    killed: tuple[Instance, ...] = ()  # the pods a pod-kill deletes (replacements measured)

    def __post_init__(self) -> None:
        # from the journal, `killed` is a list of {service, name, identity}
        pods = tuple(p if isinstance(p, Instance) else Instance(**p) for p in self.killed)
        object.__setattr__(self, "killed", pods)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChaosObject:
        fields = {k: v for k, v in data.items() if k != "kind"}
        return cls(**fields)

    def apply(self, env: FaultEnv) -> None:
        _engine(env, "create").create(self.manifest)

    def revert(self, env: FaultEnv) -> None:
        _engine(env, "delete").delete(self.manifest)
        for pod in self.killed:
            _await_replacement(env, pod)

    def describe(self) -> str:
        spec = self.manifest.get("spec", {})
        action = spec.get("action") or ", ".join(sorted(spec.get("stressors", {})))
        pods = [f"{ns}/{p}" for ns, names in spec.get("selector", {}).get("pods", {}).items()
                for p in names]  # fmt: skip
        return (
            f"{self.chaos_kind} {self.namespace}/{self.name} ({action or 'no action'}) "
            f"on {', '.join(pods) or 'no pods'}"
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["killed"] = [asdict(p) for p in self.killed]
        return {"kind": self.kind, **data}


def _engine(env: FaultEnv, verb: str) -> FaultObjects:
    engine = env.runtime.fault_objects()
    if engine is None:
        raise HarnessError(
            f"the {env.runtime.kind} runtime has no fault engine (Chaos Mesh) to {verb} "
            "a chaos object with: set kubernetes.chaos_mesh in the topology"
        )
    return engine


def _await_replacement(env: FaultEnv, pod: Instance) -> None:
    """As after a SIGKILL: the revert is done when the controller has replaced the pod."""
    deadline = time.monotonic() + env.restart_timeout
    while time.monotonic() < deadline:
        if env.runtime.replacement(pod) is not None:
            return
        time.sleep(0.1)
    raise HarnessError(f"{pod.name} was not replaced within {env.restart_timeout:.0f}s")
