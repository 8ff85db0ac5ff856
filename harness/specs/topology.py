"""A topology file (`stack.yaml` for the sample shop, or yours) and everything derived from it.

The file names any HTTP services: how to start each replica (an argv template, env,
working directory) or where it already runs (`external`), port rules, readiness,
liveness and metrics paths, and dependencies. This module turns that into concrete
replicas (name, port), Toxiproxy links (one proxy per replica link, so a fault can
hit one replica of three) and the argv each replica starts with. The launcher, the
proxy list, the scrape config and the compose files all read these derived views,
so they cannot drift apart. Nothing here knows any particular service.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from harness.errors import InvalidInput, Issue
from harness.specs.address import loopback_url
from harness.specs.commands import CommandSpec, fill
from harness.specs.kubernetes import KubernetesSpec
from harness.specs.runtimes import runtime_problems
from harness.specs.services import Link, Replica, ServiceSpec, replica_port
from harness.specs.startvalues import (
    calls,
    dependency_of,
    dependency_values,
    link_values,
    placeholder_problems,
    replica_values,
)
from harness.specs.yamlload import FieldError, load_model

__all__ = [
    "CommandSpec",
    "JaegerSpec",
    "BACKING",
    "Link",
    "Replica",
    "ServiceSpec",
    "Topology",
    "json_schema",
    "load_topology",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToxiproxySpec(_Strict):
    """Toxiproxy, which puts a proxy on every link so that a fault can hit one hop."""

    port: int = Field(18474, ge=1, le=65535, description="Toxiproxy's admin API")


class PostgresSpec(_Strict):
    """The PostgreSQL the stack starts for services that `depends_on: [postgres]`."""

    port: int = Field(15432, ge=1, le=65535, description="the PostgreSQL server's own port")
    proxy_port_base: int = Field(
        15440, ge=1, le=65000, description="replica i of a dependent reaches it on this + i"
    )
    database: str = Field("app", description="the database created ({database} in per_link)")
    user: str = Field("app", description="the role services connect as ({user} in per_link)")
    init_sql: Path | None = Field(
        None, description="SQL run once when the cluster is created (relative to the stack file)"
    )


class RedisSpec(_Strict):
    """The Redis the stack starts for services that `depends_on: [redis]` (a cache: no
    persistence). `enabled: false` runs no Redis and drops the links to it, so those
    services start without a cache."""

    enabled: bool = Field(True, description="false: no Redis; its dependents get no link to it")
    port: int = Field(16379, ge=1, le=65535, description="the Redis server's own port")
    proxy_port_base: int = Field(
        16380, ge=1, le=65000, description="replica i of a dependent reaches it on this + i"
    )
    maxmemory_mb: int = Field(64, ge=1, description="evicts least recently used keys past it")


# backing services the stack starts itself; a replica reaches each through its own proxy
BACKING = ("postgres", "redis")


class PrometheusSpec(_Strict):
    """The Prometheus the stack runs: it scrapes every replica with a `metrics_path`."""

    port: int = Field(19090, ge=1, le=65535, description="Prometheus's HTTP API and UI")
    scrape_interval: str = Field(
        "1s", pattern=r"^\d+(ms|s|m)$", description="scrape and rule evaluation interval, e.g. 1s"
    )
    rules_dir: Path = Field(
        Path("alert_rules"), description="rule files to load, relative to the stack file"
    )
    url: Annotated[str, AfterValidator(loopback_url)] | None = Field(
        None,
        description="runtime: kubernetes: the cluster's Prometheus as reached from this "
        "machine (a port-forward, an ingress; loopback only), required there; the local "
        "stack runs its own on port",
    )


class SloSpec(_Strict):
    """The stack's SLOs: Sloth `prometheus/v1` files. `harness up` generates their rules
    for the stack's Prometheus with every window scaled by `window_scale` (a local demo
    shows burn alerts within minutes), and every report says what budget a run burnt."""

    files: tuple[Path, ...] = Field((), description="SLO files, relative to the stack file")
    period: Literal["30d", "28d"] = Field("30d", description="the SLO period, before scaling")
    window_scale: float = Field(
        1.0, gt=0, le=1, description="every window and `for:` times this (1: Sloth's own)"
    )

    @property
    def period_seconds(self) -> float:
        """The period as the stack's rules measure it (scaled like every window)."""
        days = 30 if self.period == "30d" else 28
        return days * 86400 * self.window_scale


class AlertmanagerSpec(_Strict):
    """Alertmanager, and the harness's webhook receiver behind it."""

    port: int = Field(19093, ge=1, le=65535, description="Alertmanager's HTTP API and UI")
    # the webhook receiver (harness.alerts.receiver) that records every notification
    receiver_port: int = Field(
        19094, ge=1, le=65535, description="the receiver that records every notification"
    )
    url: Annotated[str, AfterValidator(loopback_url)] | None = Field(
        None,
        description="runtime: kubernetes: the cluster's Alertmanager as reached from this "
        "machine (loopback only), with receiver_url; omitted there: no alert can be proven",
    )
    receiver_url: Annotated[str, AfterValidator(loopback_url)] | None = Field(
        None,
        description="runtime: kubernetes: the harness's receiver (harness.alerts.receiver) "
        "the cluster's Alertmanager sends its webhooks to, as reached from this machine",
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> AlertmanagerSpec:
        if (self.url is None) != (self.receiver_url is None):
            given = "url" if self.url is not None else "receiver_url"
            raise FieldError(
                (given,),
                "give both url and receiver_url: an alert is proven by Alertmanager's "
                "notification reaching the receiver",
            )
        return self


class JaegerSpec(_Strict):
    """The trace backend the local stack runs (Jaeger v2, in-memory, on loopback).

    Every replica the harness starts gets `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at its
    OTLP/HTTP receiver, and always-on sampling, beneath the command's own env
    (harness.runtime.local.components). `enabled: false` for services that export
    elsewhere."""

    enabled: bool = Field(True, description="false: no Jaeger, and no OTEL_* variables set")
    otlp_grpc_port: int = Field(19317, ge=1, le=65535, description="OTLP/gRPC receiver")
    otlp_http_port: int = Field(
        19318, ge=1, le=65535, description="OTLP/HTTP receiver: OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    query_port: int = Field(
        19686, ge=1, le=65535, description="the UI and its HTTP API (/api/traces)"
    )
    query_grpc_port: int = Field(19685, ge=1, le=65535, description="the query gRPC API")
    health_port: int = Field(19133, ge=1, le=65535, description="readiness: /-/ready")
    max_traces: int = Field(100_000, ge=1, description="traces kept in memory")

    def ports(self) -> list[int]:
        return [
            self.otlp_grpc_port,
            self.otlp_http_port,
            self.query_port,
            self.query_grpc_port,
            self.health_port,
        ]


class SupervisorSpec(_Strict):
    """The process that starts the stack's components and restarts those that die."""

    metrics_port: int = Field(
        19100, ge=1, le=65535, description="its metrics: restarts, running components"
    )


class Topology(_Strict):
    """A topology file: the services to hurt and the stack that runs and watches them."""

    version: Literal["harness/v1"] = Field("harness/v1", description="the file format")
    runtime: Literal["local", "kubernetes"] = Field(
        "local",
        description="local: the harness starts the services and its stack on this machine; "
        "kubernetes: the services are pods in a cluster (kubernetes:), which runs them",
    )
    kubernetes: KubernetesSpec | None = Field(
        None,
        description="runtime: kubernetes: the cluster, and the namespaces an experiment may "
        "touch (required there, absent otherwise)",
    )
    host: Literal["127.0.0.1", "localhost", "::1"] = Field(
        "127.0.0.1", description="where everything listens and is reached: loopback only"
    )
    toxiproxy: ToxiproxySpec = Field(ToxiproxySpec(), description="the proxies' control plane")
    postgres: PostgresSpec = Field(
        PostgresSpec(), description="started when a service depends on postgres"
    )
    redis: RedisSpec = Field(RedisSpec(), description="started when a service depends on redis")
    prometheus: PrometheusSpec = Field(PrometheusSpec(), description="metrics, rules, alerts")
    alertmanager: AlertmanagerSpec = Field(
        AlertmanagerSpec(), description="routes the alerts to the harness's receiver"
    )
    supervisor: SupervisorSpec = Field(
        SupervisorSpec(), description="starts the components and restarts those that die"
    )
    jaeger: JaegerSpec = Field(JaegerSpec(), description="the trace backend")
    slo: SloSpec = Field(SloSpec(), description="the stack's SLO files")
    services: dict[str, ServiceSpec] = Field(
        min_length=1,
        description="by name: how to start each, where it already runs, or its pods in a cluster",
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        """Top-level `x-...` keys hold YAML anchors to share (as in compose files)."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data

    @model_validator(mode="after")
    def _check(self) -> Topology:
        problems = runtime_problems(self)
        if problems:
            raise FieldError.of(problems)
        for name, svc in self.services.items():
            _check_service(self, name, svc)
        ports = self.all_ports()
        dupes = sorted({p for p in ports if ports.count(p) > 1})
        if dupes:
            raise FieldError((), f"ports used twice: {', '.join(map(str, dupes))}")
        return self

    # -- derived views -------------------------------------------------------------

    @cached_property
    def replicas(self) -> tuple[Replica, ...]:
        return tuple(
            Replica(service=name, index=i, port=replica_port(svc, i))
            for name, svc in self.services.items()
            for i in range(1, svc.count + 1)
        )

    def replicas_of(self, service: str) -> tuple[Replica, ...]:
        return tuple(r for r in self.replicas if r.service == service)

    def replica_named(self, name: str) -> Replica:
        return next(r for r in self.replicas if r.name == name)

    @property
    def launched(self) -> tuple[Replica, ...]:
        """The replicas the harness starts (and may signal); external ones are not."""
        return tuple(r for r in self.replicas if self.services[r.service].external is None)

    def summary(self) -> str:
        """ "gateway x1, orders x3": each service and its replicas; a service of pods,
        by its selector ("orders: pods app=orders"), since its count is the cluster's."""
        return ", ".join(
            f"{name}: pods {svc.selector.label_selector() or 'by name'}"
            if svc.selector is not None
            else f"{name} x{svc.count}"
            for name, svc in self.services.items()
        )

    def of_pods(self, service: str) -> bool:
        """A service of pods in a cluster: no static replicas, found live by its selector."""
        return self.services[service].selector is not None

    def is_external(self, replica: str) -> bool:
        return any(r.name == replica for r in self.replicas if r not in self.launched)

    @cached_property
    def links(self) -> tuple[Link, ...]:
        """Every Toxiproxy proxy: each edge (public entry), each service→replica hop, each
        replica→backing service hop (PostgreSQL, Redis: kind "database")."""
        out: list[Link] = []
        for name, svc in self.services.items():
            if svc.edge_port_base is not None:
                for r in self.replicas_of(name):
                    out.append(Link("client", r.name, svc.edge_port_base + r.index - 1, "edge"))
        for name, svc in self.services.items():
            for dep in svc.depends_on:
                if dep in BACKING:
                    out += self._backing_links(name, dep)
                    continue
                base = self.services[dep].proxy_port_base
                assert base is not None
                for r in self.replicas_of(dep):
                    out.append(Link(name, r.name, base + r.index, "service"))
        return tuple(out)

    def _backing_links(self, service: str, dep: str) -> list[Link]:
        if dep == "redis" and not self.redis.enabled:
            return []
        base = self.postgres.proxy_port_base if dep == "postgres" else self.redis.proxy_port_base
        return [Link(r.name, dep, base + r.index, "database") for r in self.replicas_of(service)]

    def links_from(self, source: str) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.source == source)

    def entry_service(self) -> str | None:
        """The service behind the first edge proxy, if Prometheus scrapes it: what a
        report charts as a whole."""
        edge = next((link for link in self.links if link.kind == "edge"), None)
        if edge is None:
            return None
        service = self.replica_named(edge.target).service
        return service if self.services[service].metrics_path else None

    def upstream(self, link: Link) -> tuple[str, int]:
        """Where a link leads: a launched replica, an external address, PostgreSQL or Redis."""
        if link.target == "postgres":
            return self.host, self.postgres.port
        if link.target == "redis":
            return self.host, self.redis.port
        replica = self.replica_named(link.target)
        external = self.services[replica.service].external
        if external is not None:
            host, _, port = external[replica.index - 1].rpartition(":")
            return ("127.0.0.1" if host == "localhost" else host.strip("[]")), int(port)
        return self.host, replica.port

    def edge_url(self) -> str:
        """The public entry: the first edge proxy of the topology."""
        edge = next((link for link in self.links if link.kind == "edge"), None)
        if edge is None:
            raise ValueError("the topology has no edge proxy: give a service edge_port_base")
        return f"http://{self.host}:{edge.listen_port}"

    def argv(self, replica: Replica, proxy_host: str, python: str, host: str = "") -> list[str]:
        """The argv a replica starts with: its template filled in, plus `per_link` for
        every link it calls through (on `proxy_host`: loopback locally, the toxiproxy
        container under compose). `host` is the address it binds (the topology's host)."""
        command = self.services[replica.service].command
        assert command is not None, f"{replica.service} is external: nothing to start"
        values = self._values(replica, proxy_host, python, host)
        argv = [fill(a, values) for a in command.argv]
        for link in calls(self, replica):
            for template in command.per_link.get(dependency_of(self, link), ()):
                argv.append(fill(template, {**values, **link_values(self, link, proxy_host)}))
        return argv

    def env(
        self, replica: Replica, python: str, host: str = "", proxy_host: str = ""
    ) -> dict[str, str]:
        """The env a replica starts with; `{DEP.key}` through the proxies on `proxy_host`
        (as for argv; omitted: the topology's host)."""
        command = self.services[replica.service].command
        values = self._values(replica, proxy_host or self.host, python, host)
        return {k: fill(v, values) for k, v in (command.env if command else {}).items()}

    def init_argv(self, service: str, proxy_host: str, python: str, host: str = "") -> list[str]:
        """The service's init command, filled in as for its replica 1."""
        init = self.services[service].init
        assert init is not None, f"{service} has no init"
        values = self._values(self.replicas_of(service)[0], proxy_host, python, host)
        return [fill(a, values) for a in init.argv]

    def init_env(
        self, service: str, python: str, host: str = "", proxy_host: str = ""
    ) -> dict[str, str]:
        init = self.services[service].init
        assert init is not None, f"{service} has no init"
        first = self.replicas_of(service)[0]
        values = self._values(first, proxy_host or self.host, python, host)
        return {k: fill(v, values) for k, v in init.env.items()}

    def _values(self, replica: Replica, proxy_host: str, python: str, host: str) -> dict[str, str]:
        return {
            **replica_values(self, replica, python, host),
            **dependency_values(self, replica, proxy_host),
        }

    @property
    def uses_postgres(self) -> bool:
        """The stack starts PostgreSQL only when a service depends on it."""
        return any("postgres" in svc.depends_on for svc in self.services.values())

    @property
    def uses_redis(self) -> bool:
        """The stack starts Redis only when it is enabled and a service depends on it."""
        return self.redis.enabled and any("redis" in s.depends_on for s in self.services.values())

    def all_ports(self) -> list[int]:
        fixed = [
            self.toxiproxy.port,
            *([self.postgres.port] if self.uses_postgres else []),
            *([self.redis.port] if self.uses_redis else []),
            self.prometheus.port,
            self.alertmanager.port,
            self.alertmanager.receiver_port,
            self.supervisor.metrics_port,
            *(self.jaeger.ports() if self.jaeger.enabled else []),
        ]
        return fixed + [r.port for r in self.launched] + [link.listen_port for link in self.links]


def _check_service(topo: Topology, name: str, svc: ServiceSpec) -> None:
    known = set(topo.services) | set(BACKING)
    unknown = [d for d in svc.depends_on if d not in known]
    if unknown:
        raise FieldError(("services", name, "depends_on"), f"unknown {', '.join(unknown)}")
    if svc.external is not None and svc.depends_on:
        raise FieldError(
            ("services", name, "depends_on"),
            "the harness cannot route an external service's own calls through its proxies",
        )
    stray = [d for d in (svc.command.per_link if svc.command else {}) if d not in svc.depends_on]
    if stray:
        raise FieldError(
            ("services", name, "command", "per_link"), f"not in depends_on: {', '.join(stray)}"
        )
    called = any(name in other.depends_on for other in topo.services.values())
    if called and svc.proxy_port_base is None:
        raise FieldError(("services", name), "called by another service: set proxy_port_base")
    problems = placeholder_problems(topo, name, svc)
    if problems:
        raise FieldError.of(problems)


def load_topology(path: Path) -> Topology:
    """Load and validate a topology file; errors name file, line and field.

    Relative paths in the file (rules directory, init SQL, working directories, the
    kubeconfig) are resolved against the file's directory, so the stack behaves the
    same from any working directory.
    """
    topo = load_model(path, Topology)
    base = path.resolve().parent
    prom = topo.prometheus.model_copy(update={"rules_dir": base / topo.prometheus.rules_dir})
    init = topo.postgres.init_sql
    pg = topo.postgres.model_copy(update={"init_sql": base / init if init else None})
    services = {name: _resolved(svc, base) for name, svc in topo.services.items()}
    slo = topo.slo.model_copy(update={"files": tuple(base / f for f in topo.slo.files)})
    _must_exist(path, pg.init_sql, "postgres.init_sql")
    for i, f in enumerate(slo.files):
        _must_exist(path, f, f"slo.files.{i}")
    for name, svc in services.items():
        _must_exist(path, svc.command.cwd if svc.command else None, f"services.{name}.command.cwd")
        _must_exist(path, svc.init.cwd if svc.init else None, f"services.{name}.init.cwd")
    kube = _kubernetes_resolved(topo.kubernetes, base)
    _must_exist(path, kube.kubeconfig if kube else None, "kubernetes.kubeconfig")
    return topo.model_copy(
        update={
            "prometheus": prom,
            "postgres": pg,
            "services": services,
            "slo": slo,
            "kubernetes": kube,
        }
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of topology files, as `harness schema --topology` prints it.

    Top-level `x-...` keys (YAML anchors to share) are allowed, as the loader allows them.
    """
    schema = Topology.model_json_schema()
    schema["patternProperties"] = {"^x-": {"description": "anything: YAML anchors to share"}}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _must_exist(source: Path, target: Path | None, field: str) -> None:
    if target is not None and not target.exists():
        raise InvalidInput([Issue(str(source), None, field, f"{target} does not exist")])


def _kubernetes_resolved(spec: KubernetesSpec | None, base: Path) -> KubernetesSpec | None:
    """A kubeconfig named in the file is relative to the file (`~` is the user's home)."""
    if spec is None or spec.kubeconfig is None:
        return spec
    return spec.model_copy(update={"kubeconfig": base / spec.kubeconfig.expanduser()})


def _resolved(svc: ServiceSpec, base: Path) -> ServiceSpec:
    """Working directories made whole: a command's and an init's run in the stack file's
    directory unless they say otherwise."""
    update = {
        part: spec.model_copy(update={"cwd": base / (spec.cwd or ".")})
        for part, spec in (("command", svc.command), ("init", svc.init))
        if spec is not None
    }
    return svc.model_copy(update=update)
