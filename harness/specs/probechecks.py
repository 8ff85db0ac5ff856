"""What an experiment's probes ask that its own file already rules out, located in it.

- a `during` expectation whose look-back (client window, query range, or `settle`) is
  at least as long as the faults are ever in force without a break: no evaluation of it
  could lie inside the fault, so it could never be judged;
- a client probe's `route` that the load does not send;
- a client probe's `replicas` when the load goes to a URL, whose requests name no
  replica (a load on a service that spreads is decided at run time);
- a steady-state Kubernetes probe whose restarts `window` is at least `steady_wait`: it
  is pending until it has read that far back, so the steady state could never hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from harness.probes.lookback import range_seconds
from harness.specs.probes import AnyProbe, ClientProbe, KubernetesProbe
from harness.specs.ramp import step_problems
from harness.specs.yamlload import Loc, Problem

if TYPE_CHECKING:
    from harness.specs.experiment import Experiment

__all__ = ["located_probes", "longest_stretch", "probe_problems"]

P = TypeVar("P")


def probe_problems(exp: Experiment) -> list[Problem]:
    """Every problem above, at the probe field it comes from."""
    problems = [*_never_judged(exp), *_never_steady(exp)]
    for loc, probe in _client_probes(exp):
        problems += _filter_problems(exp, loc, probe)
    return problems


def longest_stretch(faults: Sequence[object]) -> float:
    """Seconds of the longest unbroken stretch with a fault in force, on the schedule
    (`start_after`, `duration`); faults that overlap or meet are one stretch."""
    spans = sorted((f.start_after, f.start_after + f.duration) for f in faults)  # type: ignore[attr-defined]
    longest, start, end = 0.0, None, None
    for s, e in spans:
        if start is None or end is None or s > end:
            start, end = s, e
        else:
            end = max(end, e)
        longest = max(longest, end - start)
    return longest


def _never_judged(exp: Experiment) -> Iterator[Problem]:
    stretches = [longest_stretch(faults) for faults in _fault_sets(exp)]
    if not stretches:
        return
    shortest = min(stretches)
    for i, probe in enumerate(exp.expectations.during):
        field, seconds, what = _look_back(probe)
        if seconds >= shortest:
            where = "a ramp step's faults are" if exp.ramp is not None else "the faults are"
            yield (
                ("expectations", "during", i, field),
                f"can never be judged: its {what} never lies inside the fault ({where} in "
                f"force for {shortest:g} s without a break); lengthen the fault, or shorten "
                "the look-back",
            )


def _never_steady(exp: Experiment) -> Iterator[Problem]:
    for i, probe in enumerate(exp.steady_state):
        if not isinstance(probe, KubernetesProbe) or probe.kubernetes.window is None:
            continue
        window = probe.kubernetes.window
        if window >= exp.steady_wait:
            yield (
                ("steady_state", i, "kubernetes", "window"),
                f"the steady state could never hold: the probe is pending for its first "
                f"{window:g} s, and steady_wait is {exp.steady_wait:g} s; lengthen "
                "steady_wait, or shorten the window",
            )


def _look_back(probe: AnyProbe) -> tuple[str, float, str]:
    """(the field that sets it, seconds at least, what it is) for a `during` probe."""
    if probe.settle is not None:
        return "settle", probe.settle, f"settle of {probe.settle:g} s"
    if isinstance(probe, ClientProbe):
        return "window", probe.window, f"{probe.window:g} s window"
    if isinstance(probe, KubernetesProbe):
        window = probe.kubernetes.window or 0.0
        return "kubernetes", window, f"{window:g} s window"
    reach = range_seconds(probe.query)
    return "query", reach, f"look-back ({reach:g} s range, and one scrape)"


def _fault_sets(exp: Experiment) -> list[Sequence[object]]:
    """The faults as each run of them has them: the experiment's, or each ramp step's
    (none when the ramp has problems of its own, reported elsewhere)."""
    if exp.ramp is None:
        return [exp.faults]
    if step_problems(exp.ramp, exp.targets, exp.faults):
        return []
    return [exp.at_step(i).faults for i in range(len(exp.ramp.steps))]


def located_probes(exp: Experiment, kind: type[P]) -> Iterator[tuple[Loc, P]]:
    """Every probe of one kind in the experiment, with where it is written."""
    lists: list[tuple[Loc, Sequence[AnyProbe]]] = [
        (("steady_state",), exp.steady_state),
        (("guardrails",), exp.guardrails),
        (("expectations", "during"), exp.expectations.during),
    ]
    for loc, probes in lists:
        for i, probe in enumerate(probes):
            if isinstance(probe, kind):
                yield (*loc, i), probe


def _client_probes(exp: Experiment) -> Iterator[tuple[Loc, ClientProbe]]:
    return located_probes(exp, ClientProbe)


def _filter_problems(exp: Experiment, loc: Loc, probe: ClientProbe) -> list[Problem]:
    if exp.load is None:  # client probes without load are reported on their own
        return []
    problems: list[Problem] = []
    routes = [f"{r.method} {r.path}" for r in exp.load.routes]
    if probe.route is not None and probe.route not in routes:
        message = f"{probe.route!r} is not a route of the load (its routes: {', '.join(routes)})"
        problems.append(((*loc, "route"), message))
    target = exp.load.target
    if probe.replicas is not None and target is not None and target.url is not None:
        message = (
            "the load goes to a URL, whose requests name no replica: give load.target a "
            "service to filter on its replicas"
        )
        problems.append(((*loc, "replicas"), message))
    return problems
