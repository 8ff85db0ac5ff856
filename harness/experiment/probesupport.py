"""Preflight: every Kubernetes probe has a Kubernetes API to read its workload through.

A Kubernetes probe reads the cluster through the runtime's client, which only the
kubernetes runtime has. On any other the probe could only ever say "error", so a steady
state would never hold and a guardrail would abort at the first tick: the experiment is
refused before anything is injected, naming the probe's line and the runtime.
`validate --stack` says the same from the topology's `runtime:`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from harness.errors import Refused
from harness.probes.kubernetes import client_of
from harness.runtime.base import Runtime
from harness.specs.experiment import Experiment, KubernetesProbe
from harness.specs.probechecks import located_probes
from harness.specs.topology import Topology
from harness.specs.yamlload import Loc, Problem, locate

__all__ = ["kubernetes_probe_problems", "refuse_unreadable_probes", "topology_probe_problems"]


def kubernetes_probe_problems(exp: Experiment, why_not: str | None) -> list[Problem]:
    """Each Kubernetes probe, located at its `kubernetes:` field, when `why_not` says why
    none can be read (None: they can)."""
    if why_not is None:
        return []
    return [
        ((*loc, "kubernetes"), f"{probe.name}: a Kubernetes probe cannot be read here: {why_not}")
        for loc, probe in _kubernetes_probes(exp)
    ]


def topology_probe_problems(exp: Experiment, topo: Topology) -> list[Problem]:
    """`validate --stack`: Kubernetes probes on a topology whose runtime is not kubernetes."""
    kind = topo.runtime
    why = None if kind == "kubernetes" else f"the topology's runtime is {kind}, not kubernetes"
    return kubernetes_probe_problems(exp, why)


def refuse_unreadable_probes(exp: Experiment, runtime: Runtime, source: Path) -> None:
    """Refused (file:line: steady_state.N.kubernetes: why) when the runtime offers no
    Kubernetes client and the experiment has Kubernetes probes."""
    why = None
    if client_of(runtime) is None:
        why = f"the {runtime.kind} runtime has no Kubernetes API (it needs runtime: kubernetes)"
    problems = kubernetes_probe_problems(exp, why)
    if problems:
        raise Refused("\n".join(str(issue) for issue in locate(source, problems)))


def _kubernetes_probes(exp: Experiment) -> Iterator[tuple[Loc, KubernetesProbe]]:
    return located_probes(exp, KubernetesProbe)
