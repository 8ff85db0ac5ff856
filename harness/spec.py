"""Experiment files (`version: harness/v1`): the models, loaded with file:line: field errors.

The file is mapped onto frozen pydantic models with no parsing concerns left in
them; the planner and the engine only ever see these.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from harness.durations import Duration
from harness.yamlload import FieldError, load_model

__all__ = [
    "AnyProbe",
    "BlastRadius",
    "ClientProbe",
    "Experiment",
    "Expectations",
    "FaultSpec",
    "LoadSpec",
    "NETWORK_FAULTS",
    "PROCESS_FAULTS",
    "Probe",
    "RouteSpec",
    "TargetSelector",
    "load_experiment",
]

NAME = r"^[a-z0-9][a-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetSelector(_Strict):
    """Which replicas or links a fault hits; resolved against live replicas at run time.

    Exactly one of: `service` (+ `count` or `percent`, default every replica),
    `replicas` (named), `links` (Toxiproxy proxy names).
    """

    service: str | None = None
    count: int | None = Field(None, ge=1)
    percent: float | None = Field(None, gt=0, le=100)
    replicas: tuple[str, ...] | None = None
    links: tuple[str, ...] | None = None
    # for network faults on a service or replicas: which hop of the chosen replicas
    hop: Literal["ingress", "database", "edge"] = "ingress"

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


NETWORK_FAULTS = (
    "latency",
    "blackhole",
    "refused",
    "bandwidth",
    "reset_peer",
    "slow_close",
    "slicer",
    "limit_data",
)
PROCESS_FAULTS = ("kill", "terminate", "pause")


class _FaultBase(_Strict):
    target: str = Field(description="a name under `targets`")
    start_after: Duration = 0.0
    duration: Duration = Field(description="how long the fault stays on")


class _NetworkBase(_FaultBase):
    direction: Literal["upstream", "downstream", "both"] = "downstream"
    toxicity: float = Field(1.0, gt=0, le=1)


class Latency(_NetworkBase):
    type: Literal["latency"]
    latency_ms: int = Field(ge=1, le=60_000)
    jitter_ms: int = Field(0, ge=0, le=60_000)


class Blackhole(_NetworkBase):
    """Bytes vanish and connections hang (Toxiproxy's timeout toxic with 0 ms)."""

    type: Literal["blackhole"]
    direction: Literal["upstream", "downstream", "both"] = "upstream"


class Refused(_FaultBase):
    """The proxy is disabled: new connections are refused, open ones closed."""

    type: Literal["refused"]


class Bandwidth(_NetworkBase):
    type: Literal["bandwidth"]
    rate_kbps: int = Field(ge=0)


class ResetPeer(_NetworkBase):
    type: Literal["reset_peer"]
    timeout_ms: int = Field(0, ge=0)


class SlowClose(_NetworkBase):
    type: Literal["slow_close"]
    delay_ms: int = Field(ge=1)


class Slicer(_NetworkBase):
    type: Literal["slicer"]
    average_size: int = Field(ge=1)
    size_variation: int = Field(0, ge=0)
    delay_us: int = Field(0, ge=0)


class LimitData(_NetworkBase):
    type: Literal["limit_data"]
    bytes: int = Field(ge=0)


class Kill(_FaultBase):
    """SIGKILL; the supervisor's restart is part of recovery (duration: how long we watch)."""

    type: Literal["kill"]


class Terminate(_FaultBase):
    type: Literal["terminate"]


class Pause(_FaultBase):
    """SIGSTOP for the duration, then SIGCONT."""

    type: Literal["pause"]


FaultSpec = Annotated[
    Latency
    | Blackhole
    | Refused
    | Bandwidth
    | ResetPeer
    | SlowClose
    | Slicer
    | LimitData
    | Kill
    | Terminate
    | Pause,
    Field(discriminator="type"),
]

_OPS = Literal["<", "<=", ">", ">=", "==", "!="]


class Probe(_Strict):
    """A PromQL query compared with a threshold; never passes on no data."""

    name: str = Field(pattern=NAME)
    query: str = Field(min_length=1)
    op: _OPS
    threshold: float
    description: str = ""


class ClientProbe(_Strict):
    """What the load generator's users saw over the last `window`: no scrape to wait for.

    `error_ratio` counts non-2xx/3xx answers and requests that got no answer;
    `p99_seconds`/`p50_seconds` are latencies from each request's scheduled time.
    Requires `load`; with no request completed in the window it is "no data".
    """

    name: str = Field(pattern=NAME)
    metric: Literal["error_ratio", "p99_seconds", "p50_seconds"]
    window: Duration = Field(2.0, gt=0)
    op: _OPS
    threshold: float
    description: str = ""


def _probe_kind(value: object) -> str:
    client = isinstance(value, dict | ClientProbe) and (
        isinstance(value, ClientProbe) or "metric" in value  # type: ignore[operator]
    )
    return "union:client" if client else "union:prometheus"


AnyProbe = Annotated[
    Annotated[Probe, Tag("union:prometheus")] | Annotated[ClientProbe, Tag("union:client")],
    Discriminator(_probe_kind),
]


class RouteSpec(_Strict):
    method: Literal["GET", "POST", "PUT", "DELETE", "PATCH"] = "GET"
    path: str = Field(pattern=r"^/")
    weight: float = Field(1.0, gt=0)
    json_body: dict[str, object] | None = Field(None, alias="json")
    choices: dict[str, tuple[object, ...]] = {}


class LoadSpec(_Strict):
    rate: float = Field(gt=0, le=5000, description="requests per second (open loop)")
    routes: tuple[RouteSpec, ...] = Field(min_length=1)
    timeout: Duration = 5.0


class Expectations(_Strict):
    during: tuple[AnyProbe, ...] = ()
    recovery_within: Duration | None = None
    acknowledged_writes_persisted: bool = False


class BlastRadius(_Strict):
    max_targets: int | None = Field(None, ge=1)
    max_percent: float | None = Field(None, gt=0, le=100)
    max_duration: Duration
    allow_total_outage: bool = False


class Experiment(_Strict):
    version: Literal["harness/v1"]
    name: str = Field(pattern=NAME)
    description: str = ""
    hypothesis: str = Field(min_length=1)
    targets: dict[str, TargetSelector] = Field(min_length=1)
    faults: tuple[FaultSpec, ...] = Field(min_length=1)
    load: LoadSpec | None = None
    steady_state: tuple[Probe, ...] = Field(min_length=1)
    guardrails: tuple[AnyProbe, ...] = ()
    expectations: Expectations = Expectations()
    blast_radius: BlastRadius
    designed_verdict: Literal["held", "deviated", "aborted"] = Field(
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
    def _references(self) -> Experiment:
        for i, fault in enumerate(self.faults):
            if fault.target not in self.targets:
                known = ", ".join(sorted(self.targets))
                raise FieldError(
                    ("faults", i, "target"), f"unknown target {fault.target!r} (known: {known})"
                )
        client = [
            p.name
            for p in (*self.guardrails, *self.expectations.during)
            if isinstance(p, ClientProbe)
        ]
        if client and self.load is None:
            raise FieldError(("load",), f"client probes ({', '.join(client)}) need load")
        names = [p.name for p in (*self.steady_state, *self.guardrails, *self.expectations.during)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise FieldError((), f"probe names must be unique: {', '.join(dupes)}")
        return self

    @property
    def fault_window(self) -> float:
        """Seconds from the first injection to the last fault's scheduled end."""
        return max(f.start_after + f.duration for f in self.faults)

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9-]+", "-", self.name)


def load_experiment(path: Path) -> Experiment:
    return load_model(path, Experiment)
