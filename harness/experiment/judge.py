"""Turn the expectations evaluated during the fault into a verdict that names the worst
value seen, over the evaluations whose look-back lay inside a fault window only.

An evaluation right after an injection still reads pre-fault data (a client window, a
rate range): it is recorded but not judged (`infault`), and the verdict says how many
were. An expectation with no judged evaluation at all is "no evaluation inside the
fault": nothing was shown, so it never passes.
"""

from __future__ import annotations

from harness.experiment.context import RunContext
from harness.judging import during_failures

__all__ = ["judge_during"]


def judge_during(ctx: RunContext) -> None:
    """Deviated when an expectation failed (or had no data, or no evaluation inside the
    fault) inside a fault window."""
    if ctx.outcome.abort is not None:
        return
    names = [p.name for p in ctx.exp.during_probes(ctx.evaluation)]
    for reason in during_failures(ctx.outcome, ctx.outcome.fault_windows, names):
        ctx.outcome.fail("deviated", reason)
