"""What a topology's `runtime:` asks of the rest of the file.

`local` (the default): the harness starts the services and its own stack on this
machine, so nothing may point into a cluster. `kubernetes`: the cluster runs the
services, so every service is a pod selector within the namespaces the file allows,
and the cluster's Prometheus is where the probes ask. Each problem is located at the
field to change, and says which field would allow what was asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.specs.kubernetes import PodSelector
from harness.specs.yamlload import Loc, Problem

if TYPE_CHECKING:
    from harness.specs.topology import Topology

__all__ = ["runtime_problems"]

_LOCAL_ONLY = "only with runtime: kubernetes: the local stack runs its own on this machine"


def runtime_problems(topo: Topology) -> list[Problem]:
    """Every field that does not fit the topology's runtime (none: it fits)."""
    if topo.runtime == "kubernetes":
        return _kubernetes_problems(topo)
    return _local_problems(topo)


def _local_problems(topo: Topology) -> list[Problem]:
    problems: list[Problem] = []
    if topo.kubernetes is not None:
        problems.append((("kubernetes",), "only with runtime: kubernetes"))
    for name, svc in topo.services.items():
        if svc.selector is not None:
            message = "a service of pods needs runtime: kubernetes (and its kubernetes: section)"
            problems.append((("services", name, "selector"), message))
    if topo.prometheus.url is not None:
        problems.append((("prometheus", "url"), _LOCAL_ONLY))
    for field in ("url", "receiver_url"):
        if getattr(topo.alertmanager, field) is not None:
            problems.append((("alertmanager", field), _LOCAL_ONLY))
    return problems


def _kubernetes_problems(topo: Topology) -> list[Problem]:
    problems: list[Problem] = []
    if topo.kubernetes is None:
        message = (
            "runtime: kubernetes needs a kubernetes: section (the cluster, and the "
            "namespaces an experiment may touch)"
        )
        problems.append((("runtime",), message))
    if topo.prometheus.url is None:
        message = (
            "runtime: kubernetes needs prometheus.url: the cluster's Prometheus as reached "
            "from this machine (a port-forward, an ingress)"
        )
        problems.append((("prometheus",), message))
    allowed = set(topo.kubernetes.namespaces) if topo.kubernetes is not None else None
    for name, svc in topo.services.items():
        if svc.selector is None:
            message = (
                "with runtime: kubernetes a service is pods in the cluster: give it a "
                "selector (command and external run on this machine)"
            )
            problems.append((("services", name), message))
        elif allowed is not None:
            problems += _namespace_problems(("services", name, "selector"), svc.selector, allowed)
    return problems


def _namespace_problems(loc: Loc, sel: PodSelector, allowed: set[str]) -> list[Problem]:
    """Each namespace a selector names that kubernetes.namespaces does not allow."""
    named: list[tuple[Loc, str]] = [
        ((*loc, "namespaces", i), ns) for i, ns in enumerate(sel.namespaces)
    ]
    named += [((*loc, "pods", ns), ns) for ns in sel.pods]
    return [
        (
            where,
            f"namespace {ns} is not in kubernetes.namespaces (the only namespaces an "
            "experiment may touch): add it there to allow it",
        )
        for where, ns in named
        if ns not in allowed
    ]
