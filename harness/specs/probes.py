"""Probes: a PromQL query, what the load's users saw, or a workload's state as the
Kubernetes API reports it, compared with a threshold."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, field_validator, model_validator

from harness.specs.base import NAME
from harness.specs.base import Strict as _Strict
from harness.specs.checks import check_promql
from harness.specs.durations import Duration
from harness.specs.kubernetes import DNS_LABEL
from harness.specs.yamlload import FieldError

__all__ = [
    "ROUTE",
    "AnyProbe",
    "ClientProbe",
    "KubernetesProbe",
    "KubernetesReading",
    "Probe",
    "PromQL",
    "Threshold",
    "WorkloadRef",
]


_OPS = Literal["<", "<=", ">", ">=", "==", "!="]
_OP = "passes when `value op threshold` holds"
_SETTLE = (
    "as a `during` expectation: judge only evaluations this long after the fault's start "
    "(default: the probe's look-back, so that no pre-fault data is judged: a client probe's "
    "window, a query's longest range plus one scrape, a Kubernetes probe's restarts window; "
    "none for a Kubernetes reading of now)"
)
ROUTE = r"^(GET|POST|PUT|DELETE|PATCH) /\S*$"


def _not_nan(value: float) -> float:
    if math.isnan(value):
        raise ValueError("a threshold must be a number, not NaN")
    return value


# +Inf and -Inf compare as PromQL compares them; NaN compares false with everything
Threshold = Annotated[float, Field(allow_inf_nan=True), AfterValidator(_not_nan)]
PromQL = Annotated[str, Field(min_length=1), AfterValidator(check_promql)]


class Probe(_Strict):
    """A PromQL query compared with a threshold; never passes on no data."""

    name: str = Field(pattern=NAME, description="unique among the experiment's probes")
    query: PromQL = Field(description="PromQL giving an instant vector or a scalar")
    op: _OPS = Field(description=_OP)
    threshold: Threshold = Field(description="compared with every series the query returns")
    settle: Duration | None = Field(None, description=_SETTLE)
    description: str = Field("", description="for people reading the report")


class ClientProbe(_Strict):
    """What the load generator's users saw over the last `window`: no scrape to wait for.

    `error_ratio` counts non-2xx/3xx answers and requests that got no answer;
    `p99_seconds`/`p50_seconds` are latencies from each request's scheduled time.
    Requires `load`; with no request completed in the window it is "no data".
    `replicas` and `route` narrow the requests counted, so that "errors through the
    faulted replica, none through the others" is two probes.
    """

    name: str = Field(pattern=NAME, description="unique among the experiment's probes")
    metric: Literal["error_ratio", "p99_seconds", "p50_seconds"] = Field(
        description="share of failed requests (0 to 1), or a latency quantile in seconds"
    )
    window: Duration = Field(2.0, gt=0, description="the requests of this last stretch count")
    op: _OPS = Field(description=_OP)
    threshold: Threshold = Field(description="compared with the metric")
    replicas: Literal["faulted", "spared"] | tuple[str, ...] | None = Field(
        None,
        description="only requests sent through these replicas' edge proxies: a list of "
        "replica names, `faulted` (the replicas the faults hit) or `spared` (the load's "
        "other replicas); needs a load on a service (its records name their replica)",
    )
    route: str | None = Field(
        None,
        pattern=ROUTE,
        description='only requests of this load route, "METHOD /path-template" as in '
        'load.routes, e.g. "POST /orders"',
    )
    settle: Duration | None = Field(None, description=_SETTLE)
    description: str = Field("", description="for people reading the report")

    @field_validator("replicas")
    @classmethod
    def _some_replicas(cls, value: object) -> object:
        if isinstance(value, tuple) and not value:
            raise ValueError("name at least one replica, or say faulted or spared")
        if isinstance(value, tuple) and len(set(value)) != len(value):
            raise ValueError("a replica is named twice")
        return value


DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


class WorkloadRef(_Strict):
    """One workload in the cluster, whose pods its label selector picks."""

    kind: Literal["Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"] = Field(
        description="the workload's kind (apps/v1)"
    )
    namespace: str = Field(pattern=DNS_LABEL, max_length=63, description="its namespace")
    name: str = Field(pattern=DNS_SUBDOMAIN, max_length=253, description="its name")

    def label(self) -> str:
        """ "Deployment shop/orders": how reports name it."""
        return f"{self.kind} {self.namespace}/{self.name}"


class KubernetesReading(_Strict):
    """What to read of the workload, through the Kubernetes API (no scrape to wait for)."""

    workload: WorkloadRef = Field(description="the workload whose pods are read")
    metric: Literal["ready_replicas", "unready_replicas", "restarts"] = Field(
        description="ready_replicas: its pods that are Ready and not being deleted; "
        "unready_replicas: how many of its desired replicas are not (never below 0); "
        "restarts: container restarts (restartCount) summed over its pods, or with "
        "`window` how many happened in that last stretch"
    )
    window: Duration | None = Field(
        None,
        gt=0,
        description="restarts only: count the restarts of this last stretch instead of every "
        "restart its pods have had (pending until the probe has read this far back)",
    )

    @model_validator(mode="after")
    def _window_for_restarts(self) -> KubernetesReading:
        if self.window is not None and self.metric != "restarts":
            raise FieldError(("window",), f"{self.metric} is read as it is now: it has no window")
        return self


class KubernetesProbe(_Strict):
    """A workload's state read from the Kubernetes API, like Litmus' k8sProbe: a steady
    state that needs no scrape. Needs a topology with `runtime: kubernetes`; a workload
    that is missing or cannot be read is "no data" or "error", never a pass."""

    name: str = Field(pattern=NAME, description="unique among the experiment's probes")
    kubernetes: KubernetesReading = Field(description="the workload and what to read of it")
    op: _OPS = Field(description=_OP)
    threshold: Threshold = Field(description="compared with the value read")
    settle: Duration | None = Field(None, description=_SETTLE)
    description: str = Field("", description="for people reading the report")


def _probe_kind(value: object) -> str:
    if isinstance(value, KubernetesProbe) or (isinstance(value, dict) and "kubernetes" in value):
        return "union:kubernetes"
    client = isinstance(value, dict | ClientProbe) and (
        isinstance(value, ClientProbe) or "metric" in value  # type: ignore[operator]
    )
    return "union:client" if client else "union:prometheus"


AnyProbe = Annotated[
    Annotated[Probe, Tag("union:prometheus")]
    | Annotated[ClientProbe, Tag("union:client")]
    | Annotated[KubernetesProbe, Tag("union:kubernetes")],
    Discriminator(_probe_kind),
]
