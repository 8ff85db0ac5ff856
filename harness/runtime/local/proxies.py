"""Toxiproxy's proxy list, derived from the topology's links."""

from __future__ import annotations

from harness.clients.toxiproxy import Proxy, ToxiproxyClient
from harness.runtime.endpoints import endpoints_of
from harness.specs.topology import Topology

__all__ = ["desired_proxies", "populate_proxies"]


def desired_proxies(topo: Topology) -> list[Proxy]:
    host = topo.host
    return [
        Proxy(
            name=link.name,
            listen=f"{host}:{link.listen_port}",
            upstream="{}:{}".format(*topo.upstream(link)),
            enabled=True,
        )
        for link in topo.links
    ]


def populate_proxies(topo: Topology) -> None:
    """Create every proxy (idempotent: Toxiproxy's populate replaces by name)."""
    toxiproxy = endpoints_of(topo).toxiproxy
    assert toxiproxy is not None  # the local stack always runs one
    with ToxiproxyClient(toxiproxy) as tp:
        tp.populate(desired_proxies(topo))
