"""Probes: a PromQL query or what the load's users saw, compared with a threshold."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag

from harness.specs.base import NAME
from harness.specs.base import Strict as _Strict
from harness.specs.checks import check_promql
from harness.specs.durations import Duration

__all__ = ["AnyProbe", "ClientProbe", "Probe", "PromQL", "Threshold"]


_OPS = Literal["<", "<=", ">", ">=", "==", "!="]
_OP = "passes when `value op threshold` holds"


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
    description: str = Field("", description="for people reading the report")


class ClientProbe(_Strict):
    """What the load generator's users saw over the last `window`: no scrape to wait for.

    `error_ratio` counts non-2xx/3xx answers and requests that got no answer;
    `p99_seconds`/`p50_seconds` are latencies from each request's scheduled time.
    Requires `load`; with no request completed in the window it is "no data".
    """

    name: str = Field(pattern=NAME, description="unique among the experiment's probes")
    metric: Literal["error_ratio", "p99_seconds", "p50_seconds"] = Field(
        description="share of failed requests (0 to 1), or a latency quantile in seconds"
    )
    window: Duration = Field(2.0, gt=0, description="the requests of this last stretch count")
    op: _OPS = Field(description=_OP)
    threshold: Threshold = Field(description="compared with the metric")
    description: str = Field("", description="for people reading the report")


def _probe_kind(value: object) -> str:
    client = isinstance(value, dict | ClientProbe) and (
        isinstance(value, ClientProbe) or "metric" in value  # type: ignore[operator]
    )
    return "union:client" if client else "union:prometheus"


AnyProbe = Annotated[
    Annotated[Probe, Tag("union:prometheus")] | Annotated[ClientProbe, Tag("union:client")],
    Discriminator(_probe_kind),
]
