"""A topology's services: how each runs (started by the harness, or already running),
and the replicas and proxy links a topology derives from them.

A service runs one of three ways: the harness starts it (`command`), it runs already
on this machine (`external`), or it is pods in a cluster (`selector`, with `runtime:
kubernetes`). A service of pods has no static replicas and no proxies: its instances
are the Ready pods the selector finds when a run plans, and its faults act on those pods.
`harness.specs.topology` holds the file as a whole and derives its views (replicas,
links, argv) from these models; this module is what one service is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from harness.specs.address import loopback_url
from harness.specs.commands import CommandSpec, InitSpec
from harness.specs.durations import Duration
from harness.specs.kubernetes import PodSelector
from harness.specs.signals import Signals
from harness.specs.yamlload import FieldError

__all__ = ["LOOPBACK", "NOT_FOR_PODS", "Link", "Replica", "ServiceSpec", "replica_port"]

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")

# what a service of pods (a selector) may not set, and why: the cluster runs its pods
_STARTED = "the cluster runs its pods; the harness starts nothing"
_PROXIED = (
    "a service of pods has no Toxiproxy proxies: network faults act on its pods "
    "(Chaos Mesh), and the load reaches it at its url"
)
NOT_FOR_PODS: dict[str, str] = {
    "replicas": "its instances are the Ready pods its selector finds when a run plans",
    "port_base": _STARTED,
    "init": _STARTED,
    "start": _STARTED,
    "ready_path": "a pod is ready when Kubernetes says it is Ready (its readiness probe)",
    "live_path": "Kubernetes restarts its pods (their liveness probe)",
    "live_period": "Kubernetes restarts its pods (their liveness probe)",
    "live_failures": "Kubernetes restarts its pods (their liveness probe)",
    "proxy_port_base": _PROXIED,
    "edge_port_base": _PROXIED,
    "depends_on": _PROXIED,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSpec(_Strict):
    """One service: started by the harness (`command`), already running (`external`), or
    pods in a cluster (`selector`)."""

    replicas: int = Field(
        1, ge=1, le=50, description="how many to start (an external service: one per address)"
    )
    port_base: int | None = Field(
        None, ge=1, le=65000, description="replica i listens on this + i (a started service)"
    )
    proxy_port_base: int | None = Field(
        None,
        ge=1,
        le=65000,
        description="callers reach replica i through its proxy on this + i (needed when "
        "another service depends on it)",
    )
    edge_port_base: int | None = Field(
        None,
        ge=1,
        le=65000,
        description="the public entry: the load and outside callers reach replica i through "
        "its edge proxy on this + i - 1",
    )
    depends_on: tuple[str, ...] = Field(
        (),
        description="what it calls: services of the topology, postgres or redis; each replica "
        "link goes through a proxy of its own",
    )
    command: CommandSpec | None = Field(
        None, description="how the harness starts each replica (else: external)"
    )
    init: InitSpec | None = Field(
        None,
        description="a one-shot command run once before any replica starts (a schema "
        "migration, say); a non-zero exit or a timeout fails `harness up` with its log",
    )
    start: Literal["parallel", "sequential"] = Field(
        "parallel",
        description="sequential: each replica starts only once the one before is ready "
        "(replicas that each migrate a schema at start must not race)",
    )
    external: tuple[str, ...] | None = Field(
        None, min_length=1, description="host:port of each replica already running (loopback)"
    )
    selector: PodSelector | None = Field(
        None,
        description="with runtime: kubernetes, the pods that are its instances (as Chaos "
        "Mesh's selector writes it); found live, Ready ones only, when a run plans",
    )
    url: Annotated[str, AfterValidator(loopback_url)] | None = Field(
        None,
        description="a service of pods: where the load and client checks reach it from "
        "this machine (an ingress, a NodePort, a port-forward; loopback only)",
    )
    ready_path: str | None = Field(
        None, pattern=r"^/", description="answers 2xx when ready; omitted: when the port accepts"
    )
    live_path: str | None = Field(
        None,
        pattern=r"^/",
        description="answers 2xx or 3xx while a replica is alive; the local supervisor probes "
        "it every live_period and restarts a replica that fails live_failures probes in a row "
        "(as a kubelet does); omitted: only a replica that exits is restarted",
    )
    live_period: Duration = Field(
        10.0,
        gt=0,
        description="how often live_path is probed (each probe times out after 1s)",
    )
    live_failures: int = Field(
        6,
        ge=1,
        le=100,
        description="failed live_path probes in a row that get a replica restarted; a frozen "
        "replica fails them too, so a `pause` fault longer than (live_failures - 1) x "
        "live_period (50s by default) may end in a restart, as under a kubelet: the defaults "
        "outlast the shipped pause faults (30s at most)",
    )
    metrics_path: str | None = Field(
        None,
        pattern=r"^/",
        description="Prometheus scrapes it on every replica; omitted: not scraped (experiments "
        "judge the service with client probes)",
    )
    signals: Signals | None = Field(
        None,
        description="where its golden signals (requests, errors, latency, saturation) come "
        "from: a metric convention or PromQL of its own; omitted: the harness convention when "
        "scraped (metrics_path), none when not",
    )

    @model_validator(mode="after")
    def _one_way_to_run(self) -> ServiceSpec:
        ways = [self.command, self.external, self.selector]
        if sum(way is not None for way in ways) != 1:
            raise FieldError(
                (),
                "give exactly one of command (the harness starts it), external (it runs "
                "already) or selector (its pods in a cluster)",
            )
        if self.selector is not None:
            return self._of_pods()
        if self.url is not None:
            raise FieldError(
                ("url",),
                "only a service of pods (selector) has a url; the load reaches a service "
                "on this machine through its edge proxies (edge_port_base)",
            )
        if self.external is not None:
            for i, address in enumerate(self.external):
                _check_external(address, ("external", i))
            if "replicas" in self.model_fields_set and self.replicas != len(self.external):
                raise FieldError(("replicas",), "an external service has one replica per address")
        elif self.port_base is None:
            raise FieldError(("port_base",), "a service the harness starts needs port_base")
        return self

    def _of_pods(self) -> ServiceSpec:
        """A service of pods sets nothing about starting, proxying or probing processes."""
        for name, why in NOT_FOR_PODS.items():
            if name in self.model_fields_set:
                raise FieldError((name,), f"not for a service of pods (selector): {why}")
        return self

    @model_validator(mode="after")
    def _how_it_starts(self) -> ServiceSpec:
        if self.external is not None:
            for name in ("init", "start"):
                if name in self.model_fields_set:
                    raise FieldError((name,), "an external service is not started by the harness")
        if self.live_path is None:
            for name in ("live_period", "live_failures"):
                if name in self.model_fields_set:
                    raise FieldError((name,), "there is no live_path to probe")
        return self

    @property
    def count(self) -> int:
        """Its static replicas: none for a service of pods (they are found live)."""
        if self.selector is not None:
            return 0
        return len(self.external) if self.external is not None else self.replicas


def _check_external(address: str, loc: tuple[str | int, ...]) -> None:
    host, _, port = address.rpartition(":")
    if host not in LOOPBACK or not port.isdigit():
        raise FieldError(loc, f"{address!r}: give host:port on loopback (127.0.0.1:8000)")
    if not 1 <= int(port) <= 65535:
        raise FieldError(loc, f"{address!r}: port out of range")


def replica_port(svc: ServiceSpec, index: int) -> int:
    if svc.external is not None:
        return int(svc.external[index - 1].rpartition(":")[2])
    assert svc.port_base is not None
    return svc.port_base + index


@dataclass(frozen=True)
class Replica:
    """One process of a service, e.g. api-2 on port 18302 (or an external address)."""

    service: str
    index: int
    port: int

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"


@dataclass(frozen=True)
class Link:
    """One network hop through its own Toxiproxy proxy.

    `source` is a service name (every replica of it shares the hop to one target
    replica), a replica name (its own hop to a backing service) or "client"
    (the edge); `target` is a replica name or a backing service ("postgres", "redis").
    Where it leads: `Topology.upstream`.
    """

    source: str
    target: str
    listen_port: int
    kind: Literal["edge", "service", "database"]

    @property
    def name(self) -> str:
        return f"{self.source}_{self.target}"
