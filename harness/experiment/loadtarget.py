"""Where an experiment's load goes: the targets its requests take in turn, and the entry
HTTP checks read back from unless they name their own.

A service's load goes through edge proxies (the public entry, one per replica): replica
1's, every replica's (`spread`), or the replicas named. A service of pods in a cluster
has no proxies: its load goes to the `url` the topology gives it (an ingress, a
NodePort, a port-forward), and the cluster spreads it over the pods. A URL is one target
as written (loopback only: see `loopback_url`). Problems are FieldErrors located in `load`, so
`validate --stack` and the planner report them alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.load.generator import Target
from harness.specs.load import LoadSpec, LoadTarget
from harness.specs.topology import Topology
from harness.specs.yamlload import FieldError

__all__ = ["LoadPlan", "edge_targets", "load_plan"]


@dataclass(frozen=True)
class LoadPlan:
    targets: tuple[Target, ...]  # the requests go round these, in this order
    entry: str  # HTTP checks' default base URL: the service's replica 1 edge, or the URL

    def describe(self, rate: float) -> str:
        """ "30 req/s to http://127.0.0.1:18080 (gateway-1's edge)", or the spread."""
        if len(self.targets) == 1:
            (t,) = self.targets
            return f"{rate:g} req/s to {t.url}" + (f" ({t.name}'s edge)" if t.name else "")
        each = ", ".join(f"{t.name} {t.url}" for t in self.targets)
        share = rate / len(self.targets)
        return (
            f"{rate:g} req/s spread over {len(self.targets)} edge proxies "
            f"({share:g} req/s each, in turn): {each}"
        )


def load_plan(load: LoadSpec, topo: Topology) -> LoadPlan:
    """Where `load` goes in `topo`; FieldError (located in `load`) when it cannot.

    No target: the topology's one service with edge proxies, replica 1's.
    """
    target = load.target
    if target is not None and target.url is not None:
        return LoadPlan((Target(target.url),), target.url)
    edges = edge_targets(topo)
    if target is None:
        urls = {name: svc.url for name, svc in topo.services.items() if svc.url is not None}
        if len(edges) + len(urls) != 1:
            raise FieldError(("target",), _no_default(edges, topo))
        if urls:
            (url,) = urls.values()
            return LoadPlan((Target(url),), url)
        (mine,) = edges.values()
        return LoadPlan(mine[:1], mine[0].url)
    assert target.service is not None
    if target.service not in topo.services:
        known = ", ".join(sorted(topo.services))
        raise FieldError(
            ("target", "service"), f"unknown service {target.service!r} (known: {known})"
        )
    if topo.of_pods(target.service):
        return _to_pods(target, topo)
    if target.service not in edges:
        raise FieldError(
            ("target", "service"),
            f"service {target.service!r} has no edge proxy: give it edge_port_base in the "
            "topology, or send the load to a target.url",
        )
    mine = edges[target.service]
    return LoadPlan(_chosen(target, mine), mine[0].url)


def edge_targets(topo: Topology) -> dict[str, tuple[Target, ...]]:
    """Each service with edge proxies, and each replica's edge proxy, in replica order."""
    service_of = {r.name: r.service for r in topo.replicas}
    host = f"[{topo.host}]" if ":" in topo.host else topo.host
    edges: dict[str, list[Target]] = {}
    for link in topo.links:
        if link.kind == "edge" and link.target in service_of:
            url = f"http://{host}:{link.listen_port}"
            edges.setdefault(service_of[link.target], []).append(Target(url, link.target))
    return {service: tuple(targets) for service, targets in edges.items()}


def _chosen(target: LoadTarget, mine: tuple[Target, ...]) -> tuple[Target, ...]:
    """Replica 1's edge; every replica's (spread); or the replicas named, in their order."""
    if target.replicas is None:
        return mine if target.spread else mine[:1]
    by_name = {t.name: t for t in mine}
    unknown = [name for name in target.replicas if name not in by_name]
    if unknown:
        raise FieldError(
            ("target", "replicas"),
            f"unknown replica {', '.join(unknown)} of {target.service} "
            f"(known: {', '.join(by_name)})",
        )
    return tuple(by_name[name] for name in target.replicas)


def _to_pods(target: LoadTarget, topo: Topology) -> LoadPlan:
    """A service of pods: one target, its url (the cluster balances over its pods)."""
    assert target.service is not None
    url = topo.services[target.service].url
    if url is None:
        raise FieldError(
            ("target", "service"),
            f"service {target.service!r} is pods in a cluster with no url: give it url in "
            "the topology (an ingress, a NodePort, a port-forward), or send the load to a "
            "target.url",
        )
    if target.spread or target.replicas is not None:
        field = "spread" if target.spread else "replicas"
        raise FieldError(
            ("target", field),
            f"service {target.service!r} is reached at its url: the cluster spreads the "
            "load over its pods (drop spread and replicas)",
        )
    return LoadPlan((Target(url),), url)


def _no_default(edges: dict[str, tuple[Target, ...]], topo: Topology) -> str:
    if topo.kubernetes is not None:
        return (
            "the topology's services of pods are reached at their url: say which one the "
            "load goes to with target.service, or give target.url"
        )
    if not edges:
        return (
            "the topology has no service with an edge proxy: say where the load goes with "
            "target.url, or give a service edge_port_base and name it in target.service"
        )
    names = ", ".join(sorted(edges))
    return (
        f"the topology has {len(edges)} services with an edge proxy ({names}): "
        "say which with target.service, or give target.url"
    )
