"""Preflight: every fault the experiment injects is a type its runtime can inject.

Asked of the runtime (`supported_faults()`), before anything is injected: a fault it
cannot inject (a disk fill where there is no local PostgreSQL data directory, a pause
where pods cannot be stopped) is refused here, naming the fault, the line it is written
on and the runtime, rather than ending "error" half-way through the run; so is a
supported type written with a setting the runtime's engine has no counterpart for
(`fault_refusal`: a latency on requests, where Chaos Mesh delays only responses).
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
    problems: list[Problem] = []
    for i, fault in enumerate(exp.faults):
        if fault.type not in supported:
            message = (
                f"{fault.type}: the {runtime.kind} runtime cannot inject it "
                f"(it can: {', '.join(sorted(supported)) or 'none'}); nothing was injected"
            )
            problems.append((("faults", i, "type"), message))
        elif (why := runtime.fault_refusal(fault)) is not None:
            message = f"{why}; the {runtime.kind} runtime refuses it: nothing was injected"
            problems.append((("faults", i), message))
    if problems:
        raise Refused("\n".join(str(issue) for issue in locate(source, problems)))
