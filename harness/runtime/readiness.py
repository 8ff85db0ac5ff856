"""Is a replica ready: its ready_path answers 200, or (with none given) its port accepts.

One place for the rule, used by the supervisor, `harness status` and the fault loop
(a killed replica is back when this says so), so a service without health endpoints
works like one with them.
"""

from __future__ import annotations

import socket

import httpx

from harness.specs.topology import Replica, Topology

__all__ = ["http_ok", "ready_url", "replica_ready", "tcp_open"]


def ready_url(topo: Topology, replica: Replica) -> str | None:
    """The replica's readiness URL, or None when the topology gives no ready_path."""
    path = topo.services[replica.service].ready_path
    return f"http://{topo.host}:{replica.port}{path}" if path else None


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def replica_ready(topo: Topology, replica: Replica, timeout: float = 0.5) -> bool:
    url = ready_url(topo, replica)
    return http_ok(url, timeout) if url else tcp_open(topo.host, replica.port, timeout)
