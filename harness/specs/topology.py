"""The one topology (`stack.yaml`) and everything derived from it.

The file names services, replica counts and port bases; this module turns that
into concrete replicas (name, port), Toxiproxy links (one proxy per replica link,
so a fault can hit one replica of three) and Prometheus scrape targets. The
launcher, the proxy list and the scrape config all read these derived views, so
they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.specs.yamlload import FieldError, load_model

__all__ = [
    "Link",
    "Replica",
    "ServiceSpec",
    "Topology",
    "load_topology",
]

APP_SERVICES = ("gateway", "catalog", "orders")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToxiproxySpec(_Strict):
    port: int = Field(18474, ge=1, le=65535)


class PostgresSpec(_Strict):
    port: int = Field(15432, ge=1, le=65535)
    proxy_port_base: int = Field(15440, ge=1, le=65000)
    database: str = "shop"
    user: str = "shop"


class PrometheusSpec(_Strict):
    port: int = Field(19090, ge=1, le=65535)
    scrape_interval: str = Field("1s", pattern=r"^\d+(ms|s|m)$")
    rules_dir: Path = Path("alert_rules")  # relative to the stack file's directory


class AlertmanagerSpec(_Strict):
    port: int = Field(19093, ge=1, le=65535)


class SupervisorSpec(_Strict):
    metrics_port: int = Field(19100, ge=1, le=65535)


class ServiceSpec(_Strict):
    replicas: int = Field(ge=1, le=50)
    port_base: int = Field(ge=1, le=65000)
    proxy_port_base: int | None = Field(None, ge=1, le=65000)
    edge_port_base: int | None = Field(None, ge=1, le=65000)
    depends_on: tuple[str, ...] = ()


class Topology(_Strict):
    version: Literal["harness/v1"] = "harness/v1"
    host: Literal["127.0.0.1", "localhost", "::1"] = "127.0.0.1"
    toxiproxy: ToxiproxySpec = ToxiproxySpec()
    postgres: PostgresSpec = PostgresSpec()
    prometheus: PrometheusSpec = PrometheusSpec()
    alertmanager: AlertmanagerSpec = AlertmanagerSpec()
    supervisor: SupervisorSpec = SupervisorSpec()
    services: dict[str, ServiceSpec]

    @model_validator(mode="after")
    def _check(self) -> Topology:
        missing = [s for s in APP_SERVICES if s not in self.services]
        if missing:
            raise FieldError(("services",), f"the sample shop needs {', '.join(missing)}")
        known = set(self.services) | {"postgres"}
        for name, svc in self.services.items():
            unknown = [d for d in svc.depends_on if d not in known]
            if unknown:
                raise FieldError(("services", name, "depends_on"), f"unknown {', '.join(unknown)}")
            called = any(name in other.depends_on for other in self.services.values())
            if called and svc.proxy_port_base is None:
                raise FieldError(
                    ("services", name), "called by another service: set proxy_port_base"
                )
        if self.services["gateway"].edge_port_base is None:
            raise FieldError(("services", "gateway"), "needs edge_port_base (the public entry)")
        ports = self.all_ports()
        dupes = sorted({p for p in ports if ports.count(p) > 1})
        if dupes:
            raise FieldError((), f"ports used twice: {', '.join(map(str, dupes))}")
        return self

    # -- derived views -------------------------------------------------------------

    @cached_property
    def replicas(self) -> tuple[Replica, ...]:
        return tuple(
            Replica(service=name, index=i, port=svc.port_base + i)
            for name, svc in self.services.items()
            for i in range(1, svc.replicas + 1)
        )

    def replicas_of(self, service: str) -> tuple[Replica, ...]:
        return tuple(r for r in self.replicas if r.service == service)

    @cached_property
    def links(self) -> tuple[Link, ...]:
        """Every Toxiproxy proxy: the edge, each service→replica hop, each replica→DB hop."""
        out: list[Link] = []
        gw = self.services["gateway"]
        assert gw.edge_port_base is not None
        for r in self.replicas_of("gateway"):
            out.append(Link("client", r.name, gw.edge_port_base + r.index - 1, r.port, "edge"))
        for name, svc in self.services.items():
            for dep in svc.depends_on:
                if dep == "postgres":
                    for r in self.replicas_of(name):
                        port = self.postgres.proxy_port_base + r.index
                        out.append(Link(r.name, "postgres", port, self.postgres.port, "database"))
                    continue
                dep_svc = self.services[dep]
                assert dep_svc.proxy_port_base is not None
                for r in self.replicas_of(dep):
                    port = dep_svc.proxy_port_base + r.index
                    out.append(Link(name, r.name, port, r.port, "service"))
        return tuple(out)

    def dependency_flags(self, replica: Replica, proxy_host: str) -> list[str]:
        """The sample app's `--upstream`/`--database-url` flags for one replica.

        Every dependency is reached through its Toxiproxy proxy on `proxy_host`
        (loopback locally, the toxiproxy container under compose).
        """
        flags: list[str] = []
        pg = self.postgres
        for link in self.links:
            if link.kind == "service" and link.source == replica.service:
                flags += ["--upstream", f"{link.target}=http://{proxy_host}:{link.listen_port}"]
            if link.kind == "database" and link.source == replica.name:
                url = f"postgresql://{pg.user}@{proxy_host}:{link.listen_port}/{pg.database}"
                flags += ["--database-url", url]
        return flags

    def links_from(self, source: str) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.source == source)

    def edge_url(self) -> str:
        """The public entry of the shop (through gateway-1's edge proxy)."""
        edge = next(link for link in self.links if link.kind == "edge")
        return f"http://{self.host}:{edge.listen_port}"

    def all_ports(self) -> list[int]:
        fixed = [
            self.toxiproxy.port,
            self.postgres.port,
            self.prometheus.port,
            self.alertmanager.port,
            self.supervisor.metrics_port,
        ]
        return fixed + [r.port for r in self.replicas] + [link.listen_port for link in self.links]


@dataclass(frozen=True)
class Replica:
    """One process of a service, e.g. orders-2 on port 18302."""

    service: str
    index: int
    port: int

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"


@dataclass(frozen=True)
class Link:
    """One network hop through its own Toxiproxy proxy.

    `source` and `target` are replica names (or "client"/"postgres"), or a service name
    when every replica of that service shares the hop (gateway→catalog-1).
    """

    source: str
    target: str
    listen_port: int
    upstream_port: int
    kind: Literal["edge", "service", "database"]

    @property
    def name(self) -> str:
        return f"{self.source}_{self.target}"


def load_topology(path: Path) -> Topology:
    """Load and validate `stack.yaml`; errors name file, line and field.

    Relative paths in the file (the rules directory) are resolved against the file's
    directory, so the stack behaves the same from any working directory.
    """
    topo = load_model(path, Topology)
    rules = path.resolve().parent / topo.prometheus.rules_dir
    prom = topo.prometheus.model_copy(update={"rules_dir": rules})
    return topo.model_copy(update={"prometheus": prom})
