"""Where services run: the seam (`base`), the local processes (`local/`) and the same
topology as containers (`compose`).

A run journals how to reach its runtime (`describe()` in the `run.started` event);
the watchdog and `recover` rebuild it from there with `runtime_from`, so they act on
the same instances the run did, whichever runtime that was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import StackError
from harness.runtime.base import Instance, Runtime

__all__ = ["Instance", "Runtime", "runtime_from"]


def runtime_from(description: dict[str, Any]) -> Runtime:
    """The runtime a journal's `run.started` event describes."""
    from harness.runtime.local.runtime import LocalRuntime  # only what the run used
    from harness.specs.topology import load_topology

    kind = description.get("kind")
    if kind == "local":
        topo = load_topology(Path(description["stack_file"]))
        return LocalRuntime(topo, Path(description["run_dir"]), Path(description["stack_file"]))
    raise StackError(f"the journal names a runtime this harness does not know: {kind!r}")
