"""Resolve an experiment's selectors to concrete targets and enforce its blast radius.

Selectors resolve against the replicas serving right now, each with its service
(`serving_replicas`): a local process that is live and ready, or a Ready pod
("namespace/pod") of a service that is a pod selector. The blast radius is checked
before anything is injected: too many targets, too large a share of a service, a fault
longer than `max_duration`, or every replica of a service without `allow_total_outage`
is a refusal (exit code 3) whose message names the limit (`blastradius`).

`validate --stack` and `run` run one check and say one thing: `static_problems` is the
planner on a healthy stack (every replica live), and the planner's own refusals are
located in the file the same way (`file:line: field: message`). A service of pods has
no replicas until a run finds them, so what depends on them (counts, names, shares) is
decided by `run`, against the pods that serve then.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from pydantic import ValidationError

from harness.errors import InvalidInput, Refused
from harness.experiment.blastradius import Live, blast_radius_problems, selector_loc, service_map
from harness.experiment.loadtarget import LoadPlan, load_plan
from harness.specs.experiment import (
    NETWORK_FAULTS,
    Experiment,
    FaultSpec,
    TargetSelector,
)
from harness.specs.topology import Link, Topology
from harness.specs.yamlload import FieldError, Problem, locate

__all__ = [
    "Live",
    "Plan",
    "PlannedFault",
    "StepPlan",
    "describe_fault",
    "load_plan",
    "plan_experiment",
    "plan_ramp",
    "static_problems",
    "target_problems",
    "topology_problems",
]


@dataclass(frozen=True)
class PlannedFault:
    index: int
    spec: FaultSpec
    replicas: tuple[str, ...]  # the replicas this fault hurts (for the blast radius)
    links: tuple[Link, ...]  # network faults: the proxies to act on
    services: tuple[str, ...] = ()  # the services of its replicas (injecting lists only them)

    @property
    def is_network(self) -> bool:
        return self.spec.type in NETWORK_FAULTS


@dataclass(frozen=True)
class Plan:
    faults: tuple[PlannedFault, ...]
    seed: int
    load: LoadPlan | None = None  # where the load goes (None: the experiment has no load)
    service_of: Mapping[str, str] = field(default_factory=dict)  # each hurt replica's service

    @property
    def replicas(self) -> set[str]:
        return {r for f in self.faults for r in f.replicas}

    @property
    def services(self) -> list[str]:
        """The services the plan hurts, by name (a pod's name does not say its service)."""
        return sorted({self.service_of[r] for r in self.replicas})


def plan_experiment(
    exp: Experiment, topo: Topology, live: Live, seed: int, source: str = "experiment"
) -> Plan:
    """Resolve every fault's target among `live` (replica name → its service). What the
    topology rules out is InvalidInput; what the live replicas or the blast radius rule
    out is Refused; both located in `source`."""
    problems = topology_problems(exp, topo)
    if problems:
        raise InvalidInput(locate(source, problems))
    plan, refusals = _plan(exp, topo, live, seed)
    if refusals:
        raise Refused("\n".join(str(issue) for issue in locate(source, refusals)))
    return plan


def static_problems(exp: Experiment, topo: Topology) -> list[Problem]:
    """What `run` would refuse on a healthy stack (every replica live): the topology's
    problems, else the blast radius of the plan (a ramp's first step's: a run stops there).
    `validate --stack` reports these; counts decide them, not which replicas a seed picks.
    Targets among pods are left to `run` (no pod is known before): only what holds
    whichever pods serve (a fault's duration) is checked for them."""
    problems = topology_problems(exp, topo)
    live = {r.name: r.service for r in topo.replicas}
    if problems or exp.ramp is None:
        return problems or _plan(exp, topo, live, 0, static=True)[1]
    first = exp.at_step(0)
    problems = topology_problems(first, topo)
    if problems:
        return problems
    said = _step_said(exp, 0)
    refusals = _plan(first, topo, live, 0, static=True)[1]
    return [(loc, f"{said}: {message}") for loc, message in refusals]


def _plan(
    exp: Experiment, topo: Topology, live: Live, seed: int, static: bool = False
) -> tuple[Plan, list[Problem]]:
    """The plan, and what refuses it (liveness first: without targets there is no radius).
    `static`: no cluster asked, so a target among pods selects nothing (and refuses
    nothing) here."""
    chosen: dict[str, tuple[str, ...]] = {}
    refusals: list[Problem] = []
    for name, selector in exp.targets.items():
        # a generator per target: a ramp widening one target leaves the others' picks alone,
        # and its wider step keeps the narrower step's replicas (sample's picks are a prefix)
        rng = random.Random(f"{seed}/{name}")
        if static and _among_pods(selector, topo):
            chosen[name] = ()
            continue
        try:
            chosen[name] = _select(selector, topo, live, rng)
        except FieldError as exc:
            refusals += [(("targets", name, *loc), msg) for loc, msg in exc.problems]
            chosen[name] = ()
    faults = []
    for i, fault in enumerate(exp.faults):
        try:
            faults.append(_planned(i, fault, exp.targets[fault.target], chosen[fault.target], topo))
        except FieldError as exc:
            refusals += exc.problems
    load = load_plan(exp.load, topo) if exp.load is not None else None
    service_of = service_map(topo, live)
    faults = [replace(f, services=_services(f, service_of)) for f in faults]
    hurt = {r: service_of[r] for f in faults for r in f.replicas if r in service_of}
    plan = Plan(tuple(faults), seed, load, hurt)
    if not refusals:
        refusals = blast_radius_problems(exp, topo, live, plan.faults)
    return plan, refusals


@dataclass(frozen=True)
class StepPlan:
    """One step of a ramp, planned: its targets, and what it does in a few words."""

    step: int  # 1-based
    plan: Plan
    description: str


def plan_ramp(
    exp: Experiment, topo: Topology, live: Live, seed: int, source: str = "experiment"
) -> tuple[list[StepPlan], str]:
    """Plan every step of the ramp; the steps before the first the blast radius refuses,
    and why the ramp ends there ("" when every step fits). The first step refused
    refuses the run: a ramp never goes past the limits, it stops at them."""
    assert exp.ramp is not None
    steps: list[StepPlan] = []
    service = exp.ramp_service
    for i, step in enumerate(exp.ramp.steps):
        at = exp.at_step(i)
        problems = topology_problems(at, topo)
        if problems:
            raise InvalidInput(locate(source, problems))
        plan, refusals = _plan(at, topo, live, seed)
        if refusals and not steps:
            said = [(loc, f"{_step_said(exp, i)}: {msg}") for loc, msg in refusals]
            raise Refused("\n".join(str(issue) for issue in locate(source, said)))
        if refusals:
            why = "; ".join(msg for _, msg in refusals)
            return steps, f"step {i + 1} ({step.describe(service)}) not run: {why}"
        steps.append(StepPlan(i + 1, plan, _describe(exp, i, plan, topo, live)))
    return steps, ""


def replan_step(
    exp: Experiment, topo: Topology, live: Live, seed: int, step: StepPlan
) -> StepPlan | str:
    """A step planned again against the instances serving when it starts: a killed
    pod's replacement has a new name, so the pods planned in preflight may be gone. The
    new plan, or why the blast radius refuses it now."""
    index = step.step - 1
    plan, refusals = _plan(exp.at_step(index), topo, live, seed)
    if refusals:
        return "; ".join(msg for _, msg in refusals)
    return StepPlan(step.step, plan, _describe(exp, index, plan, topo, live))


def _step_said(exp: Experiment, index: int) -> str:
    assert exp.ramp is not None
    return f"ramp step {index + 1} ({exp.ramp.steps[index].describe(exp.ramp_service)})"


def _describe(exp: Experiment, index: int, plan: Plan, topo: Topology, live: Live) -> str:
    """ "pause on 2 of 3 orders replicas", "latency_ms=300", or both."""
    assert exp.ramp is not None
    step = exp.ramp.steps[index]
    parts = []
    service = exp.ramp_service
    if service is not None and (step.count or step.percent):
        widened = [f for f in plan.faults if f.spec.target == exp.ramp.target]
        hit = {r for f in widened for r in f.replicas}
        types = "/".join(sorted({f.spec.type for f in widened}))
        total = sum(s == service for s in service_map(topo, live).values())
        unit = _unit(topo, service)
        parts.append(f"{types} on {len(hit)} of {total} {service} {unit}{'s' * (total > 1)}")
    parts += [f"{k}={v}" for k, v in step.settings.items()]
    return ", ".join(parts)


def topology_problems(exp: Experiment, topo: Topology) -> list[Problem]:
    """What the topology rules out whichever replicas are live, located in the file.

    Unknown services, replicas or links; a count above a service's replicas; a hop a
    replica does not have. `validate --stack` reports these with lines; the planner
    refuses to plan with any of them. A service of pods has no replicas to count and no
    hops (Chaos Mesh acts on the pods): its counts and pod names are the run's to check.
    """
    problems: list[Problem] = []
    for name, sel in exp.targets.items():
        problems += [(("targets", name, *loc), msg) for loc, msg in _selector_problems(sel, topo)]
    for i, fault in enumerate(exp.faults):
        sel = exp.targets[fault.target]
        hops = sel.links is None and not _among_pods(sel, topo)
        if fault.type in NETWORK_FAULTS and hops and not _selector_problems(sel, topo):
            problems += [(("faults", i, "target"), msg) for msg in _hop_problems(sel, topo)]
    if exp.load is not None:
        try:
            load_plan(exp.load, topo)
        except FieldError as exc:
            problems += [(("load", *loc), msg) for loc, msg in exc.problems]
    return problems


def target_problems(data: object, topo: Topology) -> list[Problem]:
    """For a file that failed validation: what the topology rules out in those of its
    targets that are valid on their own (their own errors are among the schema's), so
    that one round of fixes covers both."""
    targets = data.get("targets") if isinstance(data, dict) else None
    if not isinstance(targets, dict):
        return []
    problems: list[Problem] = []
    for name, raw in targets.items():
        try:
            sel = TargetSelector.model_validate(raw)
        except ValidationError:
            continue
        found = _selector_problems(sel, topo)
        problems += [(("targets", str(name), *loc), msg) for loc, msg in found]
    return problems


def _selector_problems(sel: TargetSelector, topo: Topology) -> list[Problem]:
    if sel.links is not None:
        return _unknown(sel.links, {lk.name for lk in topo.links}, "links", "link")
    if sel.replicas is not None and topo.kubernetes is not None:
        return _pod_name_problems(sel.replicas, topo.kubernetes.namespaces)
    if sel.replicas is not None:
        return _unknown(sel.replicas, {r.name for r in topo.replicas}, "replicas", "replica")
    assert sel.service is not None
    if sel.service not in topo.services:
        known = ", ".join(sorted(topo.services))
        return [(("service",), f"unknown service {sel.service!r} (known: {known})")]
    if topo.of_pods(sel.service):
        return []  # how many pods it has is known when a run plans
    total = len(topo.replicas_of(sel.service))
    if sel.count is not None and sel.count > total:
        message = f"count {sel.count} is more than the {total} replicas of {sel.service}"
        return [(("count",), message)]
    return []


def _unknown(names: tuple[str, ...], known: set[str], field: str, what: str) -> list[Problem]:
    unknown = [n for n in names if n not in known]
    return [((field,), f"unknown {what} {', '.join(unknown)}")] if unknown else []


_POD = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$")


def _pod_name_problems(names: tuple[str, ...], namespaces: tuple[str, ...]) -> list[Problem]:
    """Pods are named "namespace/pod", in a namespace the topology allows (whether each
    serves is the run's to see)."""
    problems: list[Problem] = []
    for i, name in enumerate(names):
        found = _POD.match(name)
        if found is None:
            message = f"{name!r}: name a pod as namespace/pod, e.g. {namespaces[0]}/orders-0"
            problems.append((("replicas", i), message))
        elif found.group(1) not in namespaces:
            message = (
                f"{name}: namespace {found.group(1)} is not in the topology's "
                "kubernetes.namespaces (the only namespaces an experiment may touch)"
            )
            problems.append((("replicas", i), message))
    return problems


def _among_pods(sel: TargetSelector, topo: Topology) -> bool:
    """Whether the selector picks pods (no static replica answers it before a run)."""
    if sel.replicas is not None:
        return topo.kubernetes is not None
    return sel.service is not None and sel.service in topo.services and topo.of_pods(sel.service)


def _unit(topo: Topology, service: str) -> str:
    return "pod" if service in topo.services and topo.of_pods(service) else "replica"


def _hop_problems(sel: TargetSelector, topo: Topology) -> list[str]:
    """Replicas a network fault could pick that have no link of the selector's hop."""
    if sel.replicas is not None:
        replicas = list(sel.replicas)
    else:
        assert sel.service is not None
        replicas = [r.name for r in topo.replicas_of(sel.service)]
    missing = [r for r in replicas if not _hop_links(topo, r, sel.hop)]
    return [f"no {sel.hop} link for {', '.join(missing)}"] if missing else []


def _select(sel: TargetSelector, topo: Topology, live: Live, rng: random.Random) -> tuple[str, ...]:
    """Replica names for a service/replicas selector; link names for a links selector.

    Names are known here (topology_problems); what can still fail is liveness
    (FieldError located in the selector).
    """
    if sel.links is not None:
        return tuple(sel.links)
    if sel.replicas is not None:
        down = [n for n in sel.replicas if n not in live]
        if down:
            message = f"replica {', '.join(down)} is not live; refusing to select it"
            raise FieldError(("replicas",), message)
        return tuple(sel.replicas)
    assert sel.service is not None
    pool = sorted(name for name, service in live.items() if service == sel.service)
    unit = _unit(topo, sel.service)
    if not pool:
        raise FieldError(("service",), f"no live {unit} of {sel.service}")
    want = len(pool)
    if sel.count is not None:
        want = sel.count
    elif sel.percent is not None:  # rounds down, at least one (see TargetSelector.percent)
        want = max(1, math.floor(len(pool) * sel.percent / 100 + 1e-9))
    if want > len(pool):
        message = f"wants {want} {unit}s of {sel.service} but {len(pool)} are live"
        raise FieldError(selector_loc(sel), message)
    return tuple(sorted(rng.sample(pool, want)))


def _services(fault: PlannedFault, service_of: Mapping[str, str]) -> tuple[str, ...]:
    """Its replicas' services; empty (every service) when one of them is not known."""
    if any(r not in service_of for r in fault.replicas):
        return ()
    return tuple(sorted({service_of[r] for r in fault.replicas}))


def _planned(
    index: int, fault: FaultSpec, sel: TargetSelector, chosen: tuple[str, ...], topo: Topology
) -> PlannedFault:
    """Process faults hit replicas; network faults hit the chosen links or hops."""
    if sel.links is not None:
        by_name = {link.name: link for link in topo.links}
        links = tuple(by_name[n] for n in chosen)
        return PlannedFault(index, fault, tuple(sorted({_hurt(lk) for lk in links})), links)
    if fault.type not in NETWORK_FAULTS:
        external = [r for r in chosen if topo.is_external(r)]
        if external:
            raise FieldError(
                ("faults", index, "type"),
                f"{fault.type} on {', '.join(external)}: an external service was not started "
                "by the harness, which never signals a process it did not start; use a "
                "network fault (latency, blackhole, refused, ...) on its links",
            )
        return PlannedFault(index, fault, chosen, ())
    # a pod has no proxy links (none are found): Chaos Mesh acts on the pods themselves
    links = tuple(lk for r in chosen for lk in _hop_links(topo, r, sel.hop))
    return PlannedFault(index, fault, chosen, links)


def describe_fault(fault: PlannedFault, topo: Topology) -> str:
    """ "latency at +5s for 20s on orders-2 (links: client_orders-2)"; in a cluster, the
    pods it hits now, "kill at +5s for 20s on pod shop/orders-7d9f-x2k4q" (its faults
    act on the pods: there is no proxy link)."""
    spec = fault.spec
    when = f"{spec.type} at +{spec.start_after:g}s for {spec.duration:g}s"
    if topo.kubernetes is not None:
        pods = ", ".join(fault.replicas) or "no pod"
        return f"{when} on pod{'s' * (len(fault.replicas) != 1)} {pods}"
    where = ", ".join(lk.name for lk in fault.links) or "no proxy link"
    return f"{when} on {', '.join(fault.replicas) or 'no replica'} (links: {where})"


def _hop_links(topo: Topology, replica: str, hop: str) -> list[Link]:
    if hop == "database":
        return [lk for lk in topo.links if lk.kind == "database" and lk.source == replica]
    kind = "edge" if hop == "edge" else "service"
    return [lk for lk in topo.links if lk.kind == kind and lk.target == replica]


def _hurt(link: Link) -> str:
    """The replica a link fault hurts: the callee, or the caller for its database link."""
    return link.source if link.kind == "database" else link.target
