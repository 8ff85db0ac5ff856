"""Preflight: every fault the experiment injects is a type its runtime can inject.

Asked of the runtime (`supported_faults()`), before anything is injected: a fault it
cannot inject (a disk fill where there is no local PostgreSQL data directory, a pause
where pods cannot be stopped) is refused here, naming the fault, the line it is written
on and the runtime, rather than ending "error" half-way through the run.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import Refused
from harness.runtime.base import Runtime
from harness.specs.experiment import Experiment
from harness.specs.yamlload import Problem, locate

__all__ = ["refuse_unsupported_faults"]


def refuse_unsupported_faults(exp: Experiment, runtime: Runtime, source: Path) -> None:
    """Refused (file:line: faults.N.type: why) for each fault the runtime cannot inject."""
    supported = runtime.supported_faults()
    problems: list[Problem] = [
        (
            ("faults", i, "type"),
            f"{fault.type}: the {runtime.kind} runtime cannot inject it "
            f"(it can: {', '.join(sorted(supported)) or 'none'}); nothing was injected",
        )
        for i, fault in enumerate(exp.faults)
        if fault.type not in supported
    ]
    if problems:
        raise Refused("\n".join(str(issue) for issue in locate(source, problems)))
