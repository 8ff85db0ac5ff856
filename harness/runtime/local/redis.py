"""The stack's Redis: a cache with no persistence, and its readiness check (PING)."""

from __future__ import annotations

import socket
from pathlib import Path

from harness.specs.topology import Topology

__all__ = ["argv", "ping"]

_PING = b"*1\r\n$4\r\nPING\r\n"


def argv(topo: Topology, server: Path, workdir: Path) -> tuple[str, ...]:
    """redis-server on loopback, nothing written to disk, least recently used keys evicted."""
    spec = topo.redis
    return (
        str(server),
        "--port", str(spec.port),
        "--bind", topo.host,
        "--protected-mode", "yes",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        "--maxmemory", f"{spec.maxmemory_mb}mb",
        "--maxmemory-policy", "allkeys-lru",
        "--daemonize", "no",
        "--logfile", "",  # stdout: the supervisor's log of the component
    )  # fmt: skip


def ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when the server answers PING with PONG (a loading or refusing one does not)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(_PING)
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False
