"""Where a topology's own stack serves its control plane: one place that turns the
topology's host and ports into base URLs.

The local runtime's `endpoints()` is this, and so is what a command reaches without a
run (`gate`, `dashboards`, `schedule`): under compose the same ports are published on
the same host. A runtime whose stack lives elsewhere (a cluster's Prometheus) answers
`endpoints()` from its own description instead.
"""

from __future__ import annotations

from harness.runtime.base import Endpoints
from harness.specs.topology import Topology

__all__ = ["endpoints_of", "host_url"]


def host_url(host: str, port: int) -> str:
    """http://host:port, with an IPv6 host in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def endpoints_of(topo: Topology) -> Endpoints:
    return Endpoints(
        prometheus=host_url(topo.host, topo.prometheus.port),
        alertmanager=host_url(topo.host, topo.alertmanager.port),
        alert_receiver=host_url(topo.host, topo.alertmanager.receiver_port),
        toxiproxy=host_url(topo.host, topo.toxiproxy.port),
    )
