"""The blast radius of a plan, as problems located in the experiment file.

Too many targets, too large a share of a service's live (ready) replicas, every live
replica of a service without `allow_total_outage`, or a fault that ends past `max_duration`. Each problem
points at the line that asks for too much (the selector's `count`, `percent`,
`replicas` or `links`; the fault's `duration`) and names the limit, so `validate
--stack` and `run` say the same thing at the same place. Messages name counts, not the
replicas a seed happened to pick: every seed gets the same words.

A service's replicas are the topology's (local) together with what serves now: a
service of pods has only the latter, its Ready pods, each named "namespace/pod".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from harness.specs.experiment import Experiment, TargetSelector
from harness.specs.topology import Topology
from harness.specs.yamlload import Loc, Problem

if TYPE_CHECKING:
    from harness.experiment.plan import PlannedFault

__all__ = ["Live", "blast_radius_problems", "selector_loc", "service_map"]

Live = Mapping[str, str]  # what serves now: replica name → its service


def service_map(topo: Topology, live: Live) -> dict[str, str]:
    """Every replica known, with its service: the topology's, and those serving now."""
    return {**{r.name: r.service for r in topo.replicas}, **live}


def blast_radius_problems(
    exp: Experiment, topo: Topology, live: Live, faults: Sequence[PlannedFault]
) -> list[Problem]:
    """Every limit the planned faults exceed (none: the plan may run)."""
    br = exp.blast_radius
    hit = {r for f in faults for r in f.replicas}
    service_of = service_map(topo, live)
    problems: list[Problem] = []
    if br.max_targets is not None and len(hit) > br.max_targets:
        message = (
            f"blast radius: {len(hit)} targets ({_by_service(hit, service_of)}) exceed "
            f"max_targets={br.max_targets}"
        )
        problems.append((_culprit(exp, faults, hit), message))
    for service in topo.services:
        problems += _service_problems(exp, topo, live, service_of, faults, service)
    for i, fault in enumerate(exp.faults):
        end = fault.start_after + fault.duration
        if end > br.max_duration:
            message = (
                f"blast radius: a {fault.type} fault ends at {end:g}s, "
                f"past max_duration={br.max_duration:g}s"
            )
            problems.append((("faults", i, "duration"), message))
    return problems


def _service_problems(
    exp: Experiment,
    topo: Topology,
    live: Live,
    service_of: Mapping[str, str],  # every replica known (service_map)
    faults: Sequence[PlannedFault],
    service: str,
) -> list[Problem]:
    br = exp.blast_radius
    total = [r for r, s in service_of.items() if s == service]
    mine = {r for f in faults for r in f.replicas if service_of.get(r) == service}
    if not mine:
        return []
    where = _culprit(exp, faults, mine)
    unit = "pods" if topo.of_pods(service) else "replicas"
    problems: list[Problem] = []
    # a share of the replicas serving now: with one of three down, one hit is half of them
    serving = {r for r in total if r in live} | mine
    share = 100 * len(mine) / len(serving)
    if br.max_percent is not None and share > br.max_percent + 1e-9:
        message = (
            f"blast radius: {len(mine)} of {len(serving)} {service} {unit} "
            f"({share:.0f}%) exceed max_percent={br.max_percent:g}"
        )
        problems.append((where, message))
    survivors = [r for r in total if r in live and r not in mine]
    if not survivors and not br.allow_total_outage:
        message = (
            f"blast radius: every live {service} {unit[:-1]} would be hit; "
            "set allow_total_outage: true to allow a total outage"
        )
        problems.append((where, message))
    return problems


def _culprit(exp: Experiment, faults: Sequence[PlannedFault], replicas: set[str]) -> Loc:
    """Where the file asks for these replicas: the selector of the first fault hitting one
    (the one that hits most of them, on a tie the first)."""
    ranked = sorted(faults, key=lambda f: -len(replicas.intersection(f.replicas)))
    name = ranked[0].spec.target if ranked else next(iter(exp.targets))
    return ("targets", name, *selector_loc(exp.targets[name]))


def selector_loc(sel: TargetSelector) -> Loc:
    """The field of a selector that says how much it selects."""
    for field in ("count", "percent", "replicas", "links", "service"):
        if getattr(sel, field) is not None:
            return (field,)
    return ()


def _by_service(replicas: set[str], service_of: Mapping[str, str]) -> str:
    """ "1 of catalog, 3 of orders": how many of each service, whichever a seed picked."""
    counts = Counter(service_of.get(r, r) for r in replicas)
    return ", ".join(f"{n} of {s}" for s, n in sorted(counts.items()))
