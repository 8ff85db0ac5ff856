"""Probes: a PromQL query or what the load's users saw, compared with a threshold."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, field_validator

from harness.specs.base import NAME
from harness.specs.base import Strict as _Strict
from harness.specs.checks import check_promql
from harness.specs.durations import Duration

__all__ = ["ROUTE", "AnyProbe", "ClientProbe", "Probe", "PromQL", "Threshold"]


_OPS = Literal["<", "<=", ">", ">=", "==", "!="]
_OP = "passes when `value op threshold` holds"
_SETTLE = (
    "as a `during` expectation: judge only evaluations this long after the fault's start "
    "(default: the probe's look-back, a client probe's window or a query's longest range "
    "plus one scrape, so that no pre-fault data is judged)"
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


def _probe_kind(value: object) -> str:
    client = isinstance(value, dict | ClientProbe) and (
        isinstance(value, ClientProbe) or "metric" in value  # type: ignore[operator]
    )
    return "union:client" if client else "union:prometheus"


AnyProbe = Annotated[
    Annotated[Probe, Tag("union:prometheus")] | Annotated[ClientProbe, Tag("union:client")],
    Discriminator(_probe_kind),
]
