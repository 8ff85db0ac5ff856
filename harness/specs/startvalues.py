"""What each placeholder of a start command means, for one replica (or its service's init).

`{python}`, `{port}`, ... describe the replica itself; `per_link` templates also get
`{address}`, `{url}`, ... of one link; `{DEP.address}`, `{DEP.url}`, ... name a
dependency's link values anywhere (argv, env, per_link, init), because most services
read their database or upstream address from the environment. The local runtime
(proxies on loopback) and compose (proxies in the toxiproxy container) both fill from
here, so the two cannot derive different addresses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.specs.commands import dotted
from harness.specs.yamlload import Loc, Problem

if TYPE_CHECKING:
    from harness.specs.topology import Link, Replica, ServiceSpec, Topology

__all__ = [
    "calls",
    "dependency_of",
    "dependency_values",
    "link_values",
    "placeholder_problems",
    "replica_values",
]


def replica_values(topo: Topology, replica: Replica, python: str, host: str) -> dict[str, str]:
    """`{python}` (the interpreter to run), `{service}`, `{replica}`, `{index}`, `{host}`
    (the address to bind) and `{port}` of one replica."""
    return {
        "python": python,
        "service": replica.service,
        "replica": replica.name,
        "index": str(replica.index),
        "host": host or topo.host,
        "port": str(replica.port),
    }


def link_values(topo: Topology, link: Link, proxy_host: str) -> dict[str, str]:
    """`per_link`'s values for one link: `{url}` is http:// for every kind, as it always was."""
    address = _address(proxy_host, link.listen_port)
    return {
        "dependency": dependency_of(topo, link),
        "target": link.target,
        "address": address,
        "url": f"http://{address}",
        "user": topo.postgres.user,
        "database": topo.postgres.database,
    }


def dependency_values(topo: Topology, replica: Replica, proxy_host: str) -> dict[str, str]:
    """`{DEP.key}` for every dependency of the replica's service, through its own links.

    `{DEP.url}` carries the dependency's own scheme (postgresql://user@address/database,
    redis://address, http://address); a dependency with several links (a service with
    several replicas) has only `{DEP.addresses}` and `{DEP.urls}`, comma-separated in
    replica order, which the load-time check enforces."""
    out: dict[str, str] = {}
    for dep in topo.services[replica.service].depends_on:
        links = [lk for lk in calls(topo, replica) if dependency_of(topo, lk) == dep]
        addresses = [_address(proxy_host, lk.listen_port) for lk in links]
        urls = [_url(topo, dep, a) for a in addresses]
        out[f"{dep}.addresses"], out[f"{dep}.urls"] = ",".join(addresses), ",".join(urls)
        if len(links) == 1:
            out[f"{dep}.address"], out[f"{dep}.url"] = addresses[0], urls[0]
        if dep == "postgres":
            out["postgres.user"], out["postgres.database"] = (
                topo.postgres.user,
                topo.postgres.database,
            )
    return out


def calls(topo: Topology, replica: Replica) -> list[Link]:
    """The links a replica calls through: its service's to other services, its own to
    PostgreSQL and Redis."""
    return [
        lk
        for lk in topo.links
        if (lk.kind == "service" and lk.source == replica.service)
        or (lk.kind == "database" and lk.source == replica.name)
    ]


def dependency_of(topo: Topology, link: Link) -> str:
    """The name in `depends_on` a link serves: a service, or postgres/redis."""
    return link.target if link.kind == "database" else topo.replica_named(link.target).service


def placeholder_problems(topo: Topology, name: str, svc: ServiceSpec) -> list[Problem]:
    """Every `{DEP.key}` of a service that cannot be filled, at its field."""
    return [
        (loc, problem)
        for loc, text in _templates(name, svc)
        for dep, key in dotted(text)
        if (problem := _problem(topo, svc, dep, key)) is not None
    ]


def _problem(topo: Topology, svc: ServiceSpec, dep: str, key: str) -> str | None:
    shown = f"{{{dep}.{key}}}"
    if dep not in svc.depends_on:
        return f"{shown}: {dep} is not in depends_on (known: {', '.join(svc.depends_on) or 'none'})"
    if dep == "redis" and not topo.redis.enabled:
        return f"{shown}: redis is disabled (redis.enabled: false), so there is no link to it"
    if key in ("user", "database") and dep != "postgres":
        return f"{shown}: only postgres has a {key}"
    count = topo.services[dep].count if dep in topo.services else 1
    if key in ("address", "url") and count > 1:
        plural = "addresses" if key == "address" else "urls"
        return (
            f"{shown}: {dep} has {count} replicas, a link to each: use {{{dep}.{plural}}} "
            "(comma-separated, in replica order)"
        )
    return None


def _templates(name: str, svc: ServiceSpec) -> list[tuple[Loc, str]]:
    at: Loc = ("services", name)
    out: list[tuple[Loc, str]] = []
    for part, spec in (("command", svc.command), ("init", svc.init)):
        if spec is None:
            continue
        out += [((*at, part, "argv", i), a) for i, a in enumerate(spec.argv)]
        out += [((*at, part, "env", k), v) for k, v in spec.env.items()]
    for dep, args in (svc.command.per_link if svc.command else {}).items():
        out += [((*at, "command", "per_link", dep, i), a) for i, a in enumerate(args)]
    return out


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _url(topo: Topology, dep: str, address: str) -> str:
    if dep == "postgres":
        return f"postgresql://{topo.postgres.user}@{address}/{topo.postgres.database}"
    if dep == "redis":
        return f"redis://{address}"
    return f"http://{address}"
