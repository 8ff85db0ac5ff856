"""The load of an experiment: where it goes (a service's entry or a loopback URL) and the
routes it sends, with headers, bodies and placeholders."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from harness.specs.address import loopback_url
from harness.specs.base import Strict as _Strict
from harness.specs.checks import route_problems
from harness.specs.credentials import REFERENCES, BasicAuth
from harness.specs.durations import Duration
from harness.specs.yamlload import FieldError

__all__ = ["LoadSpec", "LoadTarget", "RouteSpec", "loopback_url"]


class RouteSpec(_Strict):
    method: Literal["GET", "POST", "PUT", "DELETE", "PATCH"] = Field(
        "GET", description="HTTP method"
    )
    path: str = Field(
        pattern=r"^/",
        description="path on the load's target; `{name}` is filled from `choices`, `{uuid}` "
        "with a fresh UUID4 per request and `{seq}` with the run's request counter (1, 2, ...)",
    )
    weight: float = Field(1.0, gt=0, description="relative share of this route's requests")
    headers: dict[str, str] = Field(
        {},
        description="request headers; `{name}` in a value is filled from `choices` (or "
        "`{uuid}`, `{seq}`); a value may hold secrets: " + REFERENCES + ". A POST gets a "
        "fresh Idempotency-Key unless this sets one",
    )
    json_body: dict[str, object] | list[object] | None = Field(
        None,
        alias="json",
        description='JSON body; at any depth, a string that is exactly "{name}" becomes the '
        "picked value itself (a number stays a number), `{name}` in a longer string its text; "
        '"{uuid}" is a fresh UUID4 per request, "{seq}" the run\'s request counter (a number)',
    )
    choices: dict[str, tuple[object, ...]] = Field(
        {},
        description="placeholder name to the values picked at random, per request (uuid "
        "and seq are reserved: they need no entry)",
    )

    @model_validator(mode="after")
    def _placeholders(self) -> RouteSpec:
        problems = route_problems(self.path, self.choices, self.json_body, self.headers)
        if problems:
            raise FieldError.of(problems)
        return self


class LoadTarget(_Strict):
    """Where the load goes: exactly one of a service's public entry or a loopback URL."""

    service: str | None = Field(
        None,
        description="a service of the topology: the load goes through its edge proxy "
        "(replica 1's, unless spread or replicas say otherwise), so the service needs "
        "edge_port_base; a service of pods (runtime: kubernetes): to its url",
    )
    url: Annotated[str, AfterValidator(loopback_url)] | None = Field(
        None,
        description="any base URL on loopback, e.g. http://127.0.0.1:18201; a password in "
        "it (http://user:${NAME}@...) is a reference, sent as basic auth: " + REFERENCES,
    )
    spread: bool = Field(
        False,
        description="with service: send the load through every replica's edge proxy, one "
        "request to each in turn in replica order, so each of N replicas gets rate/N and "
        "each request's record names its replica; false: replica 1's edge proxy only",
    )
    replicas: tuple[str, ...] | None = Field(
        None,
        min_length=1,
        description="with service: only these replicas' edge proxies share the load, one "
        "request to each in turn in this order (spreads without spread: true)",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> LoadTarget:
        if (self.service is None) == (self.url is None):
            raise FieldError((), "give exactly one of service or url")
        if self.url is not None and (self.spread or self.replicas is not None):
            field = "spread" if self.spread else "replicas"
            raise FieldError((field,), "a url is one target: spread and replicas go with service")
        if self.replicas is not None:
            twice = sorted({r for r in self.replicas if self.replicas.count(r) > 1})
            if twice:
                raise FieldError(("replicas",), f"{', '.join(twice)} named twice")
            if "spread" in self.model_fields_set and not self.spread:
                raise FieldError(
                    ("spread",), "replicas spreads the load over the replicas named: drop spread"
                )
        return self


class LoadSpec(_Strict):
    rate: float = Field(gt=0, le=5000, description="requests per second (open loop)")
    routes: tuple[RouteSpec, ...] = Field(min_length=1, description="what the users request")
    timeout: Duration = Field(5.0, description="per request; past it the request failed")
    target: LoadTarget | None = Field(
        None,
        description="where the load goes; omitted: the topology's one service with an "
        "edge proxy, or with a url in a cluster (an error when it has none or several)",
    )
    basic_auth: BasicAuth | None = Field(
        None,
        description="HTTP basic auth for every route's requests (a route's own Authorization "
        "header wins), applied when each is sent",
    )
