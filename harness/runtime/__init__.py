"""Where services run: the seam (`base`), the local processes (`local/`), the same
topology as containers (`compose`), and pods in a cluster (`kubernetes/`).

One factory builds the runtime, in two ways that meet here: from the topology (`run`,
`dry-run`, the CLI: `runtime_for`) and from what a run journaled (`describe()` in the
`run.started` event: `runtime_from`), so the watchdog and `recover` act on the same
instances the run did, whichever runtime that was. A new runtime is one entry in
RUNTIMES; nothing outside this package names a particular one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import StackError
from harness.runtime.base import Endpoints, Instance, Runtime
from harness.specs.topology import Topology, load_topology

__all__ = ["RUNTIMES", "Endpoints", "Instance", "Runtime", "runtime_for", "runtime_from"]


def _local(topo: Topology, description: dict[str, Any]) -> Runtime:
    from harness.runtime.local.runtime import LocalRuntime  # only what the run uses

    stack = description.get("stack_file") or None
    return LocalRuntime(topo, Path(description["run_dir"]), Path(stack) if stack else None)


def _kubernetes(topo: Topology, description: dict[str, Any]) -> Runtime:
    from harness.runtime.endpoints import endpoints_for
    from harness.runtime.kubernetes.runtime import KubernetesRuntime

    if topo.kubernetes is None:
        raise StackError(
            "the journal names the kubernetes runtime, but the topology has no kubernetes:"
        )
    stack = Path(description["stack_file"]) if description.get("stack_file") else None
    selectors = {name: svc.selector for name, svc in topo.services.items() if svc.selector}
    return KubernetesRuntime(
        topo.kubernetes,
        selectors,
        endpoints_for(topo),
        base_dir=stack.parent if stack else Path.cwd(),
        stack_file=stack,
        run_dir=Path(description["run_dir"]) if description.get("run_dir") else None,
    )


# kind → how to build it from the topology and its journaled description
RUNTIMES: dict[str, Callable[[Topology, dict[str, Any]], Runtime]] = {
    "local": _local,
    "kubernetes": _kubernetes,
}


def runtime_for(topo: Topology, stack_file: Path | None, run_dir: Path) -> Runtime:
    """The runtime the topology names (`runtime:`): the local one unless it says kubernetes."""
    stack = str(stack_file.resolve()) if stack_file else ""
    return _build(topo, {"kind": topo.runtime, "stack_file": stack, "run_dir": str(run_dir)})


def runtime_from(description: dict[str, Any], topo: Topology | None = None) -> Runtime:
    """The runtime a journal's `run.started` event describes (its topology loaded from
    the journaled stack file unless given)."""
    if description.get("kind") not in RUNTIMES:
        raise StackError(
            f"the journal names a runtime this harness does not know: {description.get('kind')!r}"
        )
    if topo is None:
        topo = load_topology(Path(description["stack_file"]))
    return _build(topo, description)


def _build(topo: Topology, description: dict[str, Any]) -> Runtime:
    return RUNTIMES[description["kind"]](topo, description)
