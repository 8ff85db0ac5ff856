"""What the blast radius counts: the replicas serving now, each with its service.

The runtime's instances that are ready (a live process that does not answer yet, or a
pod that is not Ready, serves no one and is no survivor), and the topology's external
replicas that answer (the harness did not start them; it only routes to them). Each
comes with its service because a name alone does not say it: a pod's name
("shop/orders-7d9f-x2k4q") is the cluster's, not `<service>-<index>`.
"""

from __future__ import annotations

from harness.runtime.base import Runtime
from harness.runtime.readiness import replica_ready
from harness.specs.topology import Topology

__all__ = ["serving_replicas"]


def serving_replicas(runtime: Runtime, topo: Topology) -> dict[str, str]:
    """Replica name → its service: the runtime's first (in its order), then the external
    ones."""
    serving = {i.name: i.service for i in runtime.instances() if runtime.ready(i)}
    external = [r for r in topo.replicas if topo.is_external(r.name)]
    serving.update((r.name, r.service) for r in external if replica_ready(topo, r))
    return serving
