"""Chaos Mesh objects for the harness's faults: one manifest per fault and namespace.

Each object selects exactly the pods the planner chose (`selector.pods`, `mode: all`:
never "one of these labels", so Chaos Mesh cannot pick a pod the blast radius did not
count), carries the run's labels (the watchdog and `recover` sweep by them), and a
`duration` of the fault's window plus a margin: if both the harness and its watchdog
die, Chaos Mesh itself ends the fault (the dead man's switch). Its name is derived from
the run's scope, the fault's index and the namespace's position, so the journal names
it before it exists.

How the harness's faults map (fields as Chaos Mesh v1alpha1's CRD schema has them):

    kill        PodChaos pod-kill, gracePeriod 0
    pause       PodChaos pod-failure (the containers' image swapped for a pause image
                for the window: the pods stop serving; unlike SIGSTOP, their processes
                start afresh afterwards)
    latency     NetworkChaos delay {latency, jitter}, direction to
    blackhole   NetworkChaos partition, direction from/to/both
    bandwidth   NetworkChaos bandwidth {rate in bytes/s, limit, buffer}, direction to
    cpu_stress  StressChaos stressors.cpu {workers: 1, load}

Direction: without a `target`, Chaos Mesh's tc rules (delay, bandwidth) shape only
what the selected pods send (`to`): the harness's `downstream` (their responses).
`from` or `both` there would be a silent no-op (its controller records "Injected" and
applies nothing), so `upstream`/`both` latency or bandwidth is refused. A partition is
iptables, which filters both ways: upstream (what the pods receive) is `from`,
downstream `to`, both `both`; unlike a toxic on one link, it cuts every connection of
the pods. Toxiproxy's `toxicity` (a share of connections) has no Chaos Mesh
counterpart: anything but 1 is refused.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.faults.bandwidth import Bandwidth
from harness.faults.blackhole import Blackhole
from harness.faults.cpu_stress import CpuStress
from harness.faults.kill import Kill
from harness.faults.latency import Latency
from harness.faults.pause import Pause
from harness.faults.settings import FaultSettings, NetworkSettings

__all__ = [
    "API_VERSION",
    "CHAOS_MESH_FAULTS",
    "KINDS",
    "Target",
    "go_duration",
    "injects",
    "manifest_for",
    "network_bandwidth",
    "network_delay",
    "network_partition",
    "object_name",
    "pod_failure",
    "pod_kill",
    "refusal",
    "run_of",
    "stress_cpu",
]

API_VERSION = "chaos-mesh.org/v1alpha1"
KINDS = {"PodChaos": "podchaos", "NetworkChaos": "networkchaos", "StressChaos": "stresschaos"}
PARTITION = {"upstream": "from", "downstream": "to", "both": "both"}
MTU_BURST = 1600  # tbf's bucket must hold a whole packet (1,514 bytes on Ethernet)
MAX_U32 = 2**32 - 1


@dataclass(frozen=True)
class Target:
    """Where an object goes and what it hurts: everything a manifest shares."""

    name: str
    namespace: str  # where the object is created
    pods: dict[str, tuple[str, ...]]  # namespace -> pod names, exactly the planned ones
    labels: dict[str, str]
    seconds: float  # the object's `duration`: the fault's window plus the margin


def go_duration(seconds: float) -> str:
    """A duration as Go's time.ParseDuration reads it, rounded up to whole seconds."""
    return f"{max(1, math.ceil(seconds))}s"


def _object(kind: str, target: Target, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {
            "name": target.name,
            "namespace": target.namespace,
            "labels": dict(target.labels),
        },
        "spec": {
            "selector": {"pods": {ns: list(names) for ns, names in target.pods.items()}},
            "mode": "all",
            "duration": go_duration(target.seconds),
            **spec,
        },
    }


def pod_kill(target: Target, grace_period: int = 0) -> dict[str, Any]:
    return _object("PodChaos", target, {"action": "pod-kill", "gracePeriod": grace_period})


def pod_failure(target: Target) -> dict[str, Any]:
    return _object("PodChaos", target, {"action": "pod-failure"})


def network_delay(target: Target, latency_ms: int, jitter_ms: int = 0) -> dict[str, Any]:
    delay = {"latency": f"{latency_ms}ms", "jitter": f"{jitter_ms}ms"}
    return _object("NetworkChaos", target, {"action": "delay", "direction": "to", "delay": delay})


def network_partition(target: Target, direction: str) -> dict[str, Any]:
    """`direction` as the harness writes it (upstream, downstream, both)."""
    spec = {"action": "partition", "direction": PARTITION[direction]}
    return _object("NetworkChaos", target, spec)


def network_bandwidth(target: Target, rate_kb_per_s: int) -> dict[str, Any]:
    """A token bucket at the rate (bytes/s: Chaos Mesh's `kbps` is 1,024 bytes, the
    harness's KB 1,000); a bucket of 10 ms of data, at least a whole packet; a queue of
    a second of data, so excess waits rather than vanishes, as with Toxiproxy."""
    rate = rate_kb_per_s * 1000
    buffer = min(MAX_U32, max(MTU_BURST, rate // 100))
    limit = min(MAX_U32, max(buffer, rate))
    bandwidth = {"rate": f"{rate}bps", "limit": limit, "buffer": buffer}
    spec = {"action": "bandwidth", "direction": "to", "bandwidth": bandwidth}
    return _object("NetworkChaos", target, spec)


def stress_cpu(target: Target, load: int) -> dict[str, Any]:
    """One stress-ng worker at `load` percent of a CPU, in each selected container."""
    stressors = {"cpu": {"workers": 1, "load": load}}
    return _object("StressChaos", target, {"stressors": stressors})


# the one table: which fault becomes which object (a fault not here: its own actions)
_MANIFESTS: dict[type, Callable[[Any, Target], dict[str, Any]]] = {
    Kill: lambda s, t: pod_kill(t, grace_period=0),
    Pause: lambda s, t: pod_failure(t),
    Latency: lambda s, t: network_delay(t, s.latency_ms, s.jitter_ms),
    Blackhole: lambda s, t: network_partition(t, s.direction),
    Bandwidth: lambda s, t: network_bandwidth(t, s.rate_kb_per_s),
    CpuStress: lambda s, t: stress_cpu(t, s.load),
}
CHAOS_MESH_FAULTS = frozenset(
    str(c.model_fields["type"].annotation.__args__[0])  # type: ignore[attr-defined]
    for c in _MANIFESTS
)


def injects(settings: FaultSettings) -> bool:
    """Whether Chaos Mesh injects this fault (else: its own actions)."""
    return type(settings) in _MANIFESTS


def manifest_for(settings: FaultSettings, target: Target) -> dict[str, Any] | None:
    """The object that injects this fault; None for a fault Chaos Mesh does not inject."""
    build = _MANIFESTS.get(type(settings))
    return None if build is None else build(settings, target)


def refusal(settings: FaultSettings) -> str | None:
    """Why Chaos Mesh cannot inject these settings as written (None: it can); for
    preflight to ask before anything is injected."""
    if not isinstance(settings, NetworkSettings) or not injects(settings):
        return None
    if settings.toxicity != 1.0:
        return (
            f"{settings.type}: toxicity {settings.toxicity:g} (a share of connections) has no "
            "Chaos Mesh counterpart: it hurts every connection of the pods (toxicity: 1)"
        )
    if not isinstance(settings, Blackhole) and settings.direction != "downstream":
        return (
            f"{settings.type}: direction {settings.direction}: Chaos Mesh shapes only what the "
            "selected pods send (their responses): use direction: downstream"
        )
    return None


def run_of(scope: str) -> str:
    """The bare run id of a scope (`<run>-s2` is a ramp step's; a run id ends in hex)."""
    return re.sub(r"-s\d+$", "", scope)


def object_name(scope: str, fault: int, n: int) -> str:
    """`harness-<scope>-f<fault>-<n>`: a DNS label (<= 63), the same in every process."""
    name = re.sub(r"[^a-z0-9-]", "-", f"harness-{scope}-f{fault}-{n}".lower())
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[:50].rstrip('-')}-{digest}"
