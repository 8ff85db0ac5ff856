"""Where a topology's own stack serves its control plane: one place that turns the
topology into base URLs.

The local runtime's `endpoints()` is `endpoints_of` (the topology's host and ports),
and so is what a command reaches without a run (`gate`, `dashboards`, `schedule`):
under compose the same ports are published on the same host. A topology whose
services run in a cluster names the URLs where this machine reaches the cluster's
Prometheus (and Alertmanager with the harness's receiver, if it has them), and has no
Toxiproxy: `endpoints_for` answers for either.
"""

from __future__ import annotations

from harness.runtime.base import Endpoints
from harness.specs.topology import Topology

__all__ = ["endpoints_for", "endpoints_of", "host_url"]


def host_url(host: str, port: int) -> str:
    """http://host:port, with an IPv6 host in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def endpoints_of(topo: Topology) -> Endpoints:
    """The local stack's (or compose's): the topology's host and ports."""
    return Endpoints(
        prometheus=host_url(topo.host, topo.prometheus.port),
        alertmanager=host_url(topo.host, topo.alertmanager.port),
        alert_receiver=host_url(topo.host, topo.alertmanager.receiver_port),
        toxiproxy=host_url(topo.host, topo.toxiproxy.port),
    )


def endpoints_for(topo: Topology) -> Endpoints:
    """Whichever runtime the topology names: a cluster's from the URLs the file gives
    (no Toxiproxy; no Alertmanager unless named), else the local stack's."""
    if topo.runtime != "kubernetes":
        return endpoints_of(topo)
    assert topo.prometheus.url is not None  # the topology requires it with kubernetes
    return Endpoints(
        prometheus=topo.prometheus.url.rstrip("/"),
        alertmanager=_base(topo.alertmanager.url),
        alert_receiver=_base(topo.alertmanager.receiver_url),
        toxiproxy=None,
    )


def _base(url: str | None) -> str | None:
    return url.rstrip("/") if url is not None else None
