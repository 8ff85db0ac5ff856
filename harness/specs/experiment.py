"""Experiment files (`version: harness/v1`): the models, loaded with file:line: field errors.

The file is mapped onto frozen pydantic models with no parsing concerns left in
them; the planner and the engine only ever see these. Every field carries a
description: `harness schema` turns them into editor help.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    model_validator,
)

from harness.faults import NETWORK_FAULTS, PROCESS_FAULTS, FaultSpec
from harness.specs.afterchecks import (
    AckedRoute,
    AnyCheck,
    CheckRequest,
    HttpCheck,
    HttpCheckSpec,
    SqlCheck,
    SqlCheckSpec,
)
from harness.specs.alertexpect import AlertExpectation, NoAlert
from harness.specs.base import MAX_COUNT, NAME
from harness.specs.base import Strict as _Strict
from harness.specs.durations import Duration
from harness.specs.load import LoadSpec, LoadTarget, RouteSpec, loopback_url
from harness.specs.probechecks import probe_problems
from harness.specs.probes import AnyProbe, ClientProbe, KubernetesProbe, Probe
from harness.specs.ramp import Ramp, RampStep, step_problems, with_settings
from harness.specs.yamlload import FieldError, Problem, load_model, refuse_old_key

__all__ = [
    "AckedRoute",
    "AnyCheck",
    "AnyProbe",
    "BlastRadius",
    "CheckRequest",
    "ClientProbe",
    "Experiment",
    "Expectations",
    "FaultSpec",
    "HttpCheck",
    "HttpCheckSpec",
    "KubernetesProbe",
    "LoadSpec",
    "LoadTarget",
    "NETWORK_FAULTS",
    "PROCESS_FAULTS",
    "Probe",
    "Ramp",
    "RampStep",
    "RouteSpec",
    "SqlCheck",
    "SqlCheckSpec",
    "TargetSelector",
    "json_schema",
    "loopback_url",
    "load_experiment",
]


class TargetSelector(_Strict):
    """Which replicas or links a fault hits; resolved against live replicas at run time.

    Exactly one of: `service` (+ `count` or `percent`, default every replica),
    `replicas` (named), `links` (Toxiproxy proxy names).
    """

    service: str | None = Field(None, description="a service of the topology, e.g. api")
    count: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="with service: this many of its live replicas"
    )
    percent: float | None = Field(
        None,
        gt=0,
        le=100,
        description="with service: this share of its live replicas, rounded down "
        "(floor), and at least one: 50 of 3 replicas is 1, 67 is 2",
    )
    replicas: tuple[str, ...] | None = Field(
        None, description="replica names, e.g. [api-2] (service name, dash, 1-based index)"
    )
    links: tuple[str, ...] | None = Field(
        None, description="Toxiproxy proxy names (source_target), e.g. [web_api-1]"
    )
    hop: Literal["ingress", "database", "edge"] = Field(
        "ingress",
        description="for network faults on a service or replicas: the link into the replica "
        "(ingress), from it to PostgreSQL (database), or the public entry in front of it (edge)",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> TargetSelector:
        kinds = [k for k in ("service", "replicas", "links") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise FieldError((), "give exactly one of service, replicas or links")
        if self.count is not None and self.percent is not None:
            raise FieldError(("percent",), "give count or percent, not both")
        if (self.count or self.percent) and self.service is None:
            raise FieldError(("count" if self.count else "percent",), "only applies with service")
        return self


class Expectations(_Strict):
    during: tuple[AnyProbe, ...] = Field(
        (), description="probes that must pass while the faults are on (else: deviated)"
    )
    recovery_within: Duration | None = Field(
        None, description="steady state must be back this soon after the faults end"
    )
    checks: tuple[AnyCheck, ...] = Field(
        (),
        description="run on what the load's users were acknowledged (2xx), after the load "
        "stopped: a miss or no data is deviated, an error is error",
    )
    alerts: tuple[AlertExpectation, ...] = Field(
        (),
        description="alerts the faults must fire: within a time of the first fault's start, "
        "delivered to a receiver, resolved after the rollback (evidence: Prometheus ALERTS "
        "and the harness's webhook receiver)",
    )
    no_alerts: tuple[NoAlert, ...] = Field(
        (), description="alerts that must not fire (a false positive fails the experiment)"
    )

    @property
    def recovery_limit(self) -> float:
        """How long the steady state has to come back after a rollback (default 60 s)."""
        return self.recovery_within or 60.0

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, data: Any) -> Any:
        return refuse_old_key(
            data,
            "acknowledged_writes_persisted",
            "removed: declare `checks` instead (an http check reading each acknowledged "
            "order back, a sql check finding its idempotency_key; docs/experiments.md, Checks)",
        )

    @model_validator(mode="after")
    def _unique_checks(self) -> Expectations:
        names = [c.name for c in self.checks]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise FieldError(("checks",), f"check names must be unique: {', '.join(dupes)}")
        keys = [(a.alert, tuple(sorted(a.labels.items()))) for a in self.alerts]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise FieldError(("alerts", i), f"alert {key[0]} is expected twice")
        for i, quiet in enumerate(self.no_alerts):
            for a in self.alerts:
                every = quiet.alert is None and not quiet.labels
                if quiet.when == "run" and (every or quiet.alert == a.alert):
                    message = f"cannot forbid {quiet.alert or 'every alert'} for the whole run "
                    message += f"and expect {a.alert} to fire"
                    raise FieldError(("no_alerts", i), message)
        return self


class BlastRadius(_Strict):
    max_targets: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="replicas the faults may hurt, at most"
    )
    max_percent: float | None = Field(
        None,
        gt=0,
        le=100,
        description="share of a service's serving (live and ready) replicas hurt, at most",
    )
    max_duration: Duration = Field(description="every fault must end (start_after + duration) by")
    allow_total_outage: bool = Field(
        False, description="allow hitting every live replica of a service"
    )


class Experiment(_Strict):
    version: Literal["harness/v1"] = Field(description="the file format: harness/v1")
    name: str = Field(pattern=NAME, description="lowercase, digits, - and _; names the run")
    description: str = Field("", description="one line for people")
    hypothesis: str = Field(min_length=1, description="what should hold while the faults are on")
    targets: dict[str, TargetSelector] = Field(
        min_length=1, description="named selectors that faults refer to by `target`"
    )
    faults: tuple[FaultSpec, ...] = Field(min_length=1, description="what to break, and when")
    load: LoadSpec | None = Field(None, description="traffic for the whole run (open loop)")
    steady_state: tuple[AnyProbe, ...] = Field(
        min_length=1,
        description="probes that must pass before any fault (else: not steady), and again "
        "after it; client probes judge a service Prometheus does not scrape",
    )
    guardrails: tuple[AnyProbe, ...] = Field(
        (), description="probes checked during faults; one failing aborts the run"
    )
    expectations: Expectations = Field(
        Expectations(), description="what should hold during and after the faults"
    )
    blast_radius: BlastRadius = Field(description="limits past which the run is refused")
    ramp: Ramp | None = Field(
        None,
        description="gradual chaos: run the faults once per step, each wider than the last, "
        "and stop at the first step that breaks (the breaking point)",
    )
    designed_verdict: Literal["held", "deviated", "aborted", "refused"] = Field(
        "held", description="what this experiment should end with (`run --as-designed`)"
    )
    tick: Duration = Field(1.0, gt=0, description="cadence of expectations and recovery polls")
    guard_interval: Duration = Field(
        0.25, gt=0, description="cadence of guardrails and control-plane checks during faults"
    )
    settle: Duration = Field(5.0, description="load time before the steady-state check")
    steady_wait: Duration = Field(
        15.0, description="how long to keep checking for steady state (no data is not steady)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        problems = [*self._reference_problems(), *self._window_problems()]
        problems += self._ramp_problems()
        problems += probe_problems(self)
        client = [
            p.name
            for p in (*self.steady_state, *self.guardrails, *self.expectations.during)
            if isinstance(p, ClientProbe)
        ]
        if client and self.load is None:
            problems.append((("load",), f"client probes ({', '.join(client)}) need load"))
        quiet = [q.probe() for q in self.expectations.no_alerts]
        names = [
            p.name
            for p in (*self.steady_state, *self.guardrails, *self.expectations.during, *quiet)
        ]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(((), f"probe names must be unique: {', '.join(dupes)}"))
        if problems:
            raise FieldError.of(problems)
        return self

    def _reference_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        for i, fault in enumerate(self.faults):
            selector = self.targets.get(fault.target)
            if selector is None:
                known = ", ".join(sorted(self.targets))
                message = f"unknown target {fault.target!r} (known: {known})"
                problems.append((("faults", i, "target"), message))
            elif selector.links is not None and fault.type not in NETWORK_FAULTS:
                message = f"a {fault.type} fault needs replicas, not links"
                problems.append((("faults", i, "target"), message))
        return problems

    def _window_problems(self) -> list[Problem]:
        """Faults that would outlast blast_radius.max_duration.

        The planner refuses these at run time too; an experiment designed to be
        refused is left for it, so that its run shows the refusal.
        """
        if self.designed_verdict == "refused":
            return []
        limit = self.blast_radius.max_duration
        return [
            (
                ("faults", i),
                f"ends at {f.start_after + f.duration:g}s (start_after + duration), "
                f"past blast_radius.max_duration={limit:g}s",
            )
            for i, f in enumerate(self.faults)
            if f.start_after + f.duration > limit
        ]

    def _ramp_problems(self) -> list[Problem]:
        """The ramp against the targets and faults; each step's window within max_duration."""
        if self.ramp is None:
            return []
        found = step_problems(self.ramp, self.targets, self.faults)
        if found or self.designed_verdict == "refused":
            return [(("ramp", *loc), message) for loc, message in found]
        limit = self.blast_radius.max_duration
        for i in range(len(self.ramp.steps)):
            end = self.at_step(i).fault_window
            if end > limit:
                message = f"its faults end at {end:g}s, past blast_radius.max_duration={limit:g}s"
                found.append((("ramp", "steps", i), message))
        return found

    @property
    def ramp_service(self) -> str | None:
        """The service whose replicas the ramp's steps count (None: it widens no target)."""
        if self.ramp is None or self.ramp.target is None:
            return None
        return self.targets[self.ramp.target].service

    def at_step(self, index: int) -> Experiment:
        """The experiment as step `index` (0-based) of its ramp runs it, with no ramp left:
        the ramp's target at the step's count or percent, the faults with its settings."""
        assert self.ramp is not None, "only a ramp has steps"
        step: RampStep = self.ramp.steps[index]
        targets = dict(self.targets)
        if self.ramp.target is not None and (step.count or step.percent):
            widened = {"count": step.count, "percent": step.percent}
            targets[self.ramp.target] = targets[self.ramp.target].model_copy(update=widened)
        faults = tuple(with_settings(f, step.settings) for f in self.faults)
        return self.model_copy(update={"targets": targets, "faults": faults, "ramp": None})

    def steady_probes(self, label: str, evaluation: float = 60.0) -> tuple[AnyProbe, ...]:
        """The steady state, plus the alerts that must not fire then: every no_alert
        before the faults, the whole-run ones after them too. `evaluation`: the rule
        evaluation interval of the stack's Prometheus."""
        quiet = self.expectations.no_alerts
        wanted = [q for q in quiet if label in ("before", "dry-run") or q.when == "run"]
        return (*self.steady_state, *(q.probe(evaluation) for q in wanted))

    def during_probes(self, evaluation: float = 60.0) -> tuple[AnyProbe, ...]:
        """Expectations while the faults are on, plus the whole-run no_alerts."""
        quiet = [q.probe(evaluation) for q in self.expectations.no_alerts if q.when == "run"]
        return (*self.expectations.during, *quiet)

    @property
    def fault_window(self) -> float:
        """Seconds from the first injection to the last fault's scheduled end."""
        return max(f.start_after + f.duration for f in self.faults)

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9-]+", "-", self.name)


Check = Callable[[Experiment], Iterable[Problem]]


def load_experiment(
    path: Path, check: Check | None = None, partial: Callable[[Any], Iterable[Problem]] | None = None
) -> Experiment:
    """Load and validate one experiment file; `check` adds problems located like the rest.

    `harness validate --stack` passes the planner's check here, and for a file that
    fails its schema, `partial`: the topology's check of the targets that are valid.
    """
    return load_model(path, Experiment, check, partial)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of experiment files, as `harness schema` prints it for editors."""
    schema = Experiment.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
