"""What the supervisor runs: one Component per process, derived from the topology.

A component is data: argv (never a shell string), environment, the user to run as,
its port, how to tell it is ready (or, for a one-shot init, how long it may run),
what it waits for before it starts, how its liveness is probed, and the signal that
stops it gracefully.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.rundir import RunDir, postgres_user
from harness.runtime.local import redis
from harness.runtime.local.binaries import Binaries
from harness.runtime.local.jaegerconfig import READY_PATH, otlp_endpoint
from harness.runtime.local.liveness import LiveProbe
from harness.runtime.readiness import ready_url
from harness.specs.topology import Replica, Topology

__all__ = ["START_TIMEOUT", "Component", "build_components", "init_name", "redis_dir"]

START_TIMEOUT = 90.0  # seconds a component may take to be ready once started

Kind = Literal[
    "postgres",
    "redis",
    "toxiproxy",
    "receiver",
    "jaeger",
    "init",
    "app",
    "alertmanager",
    "prometheus",
]
# what a replica's OTel SDK is told when the stack runs Jaeger (the topology's env wins)
TRACING_ENV = {
    "OTEL_TRACES_SAMPLER": "always_on",  # the local stack keeps every trace
    "OTEL_BSP_SCHEDULE_DELAY": "1000",  # ms: spans are queryable a second or so after
}


@dataclass(frozen=True)
class Component:
    name: str
    kind: Kind
    argv: tuple[str, ...]
    port: int | None  # None: an init, which listens on nothing
    ready_url: str | None  # None: a PostgreSQL query, a Redis PING, or a TCP connect
    tier: int  # started in tier order; a tier waits for the one before to be ready
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    stop_signal: signal.Signals = signal.SIGTERM
    service: str | None = None  # for app replicas and inits
    cwd: str | None = None
    after: str | None = None  # started once this component (same tier) is ready or done
    timeout: float | None = None  # a one-shot (init): runs to completion within this
    live: LiveProbe | None = None  # restarted when its liveness fails


def build_components(topo: Topology, run: RunDir, bins: Binaries) -> list[Component]:
    host = topo.host
    comps = [_postgres(topo, run, bins)] if topo.uses_postgres else []
    # with_redis(bins) refuses a stack whose topology wants Redis without redis-server
    if topo.uses_redis and bins.redis is not None:
        comps.append(_redis(topo, run, bins))
    comps += [
        Component(
            name="toxiproxy",
            kind="toxiproxy",
            argv=(
                str(bins.toxiproxy),
                "-host",
                host,
                "-port",
                str(topo.toxiproxy.port),
                "-proxy-metrics",
                "-runtime-metrics",
            ),
            port=topo.toxiproxy.port,
            ready_url=f"http://{host}:{topo.toxiproxy.port}/version",
            tier=0,
            env={"LOG_LEVEL": "warn"},
        ),
        _receiver(topo, run),
    ]
    # find_binaries(jaeger=True) refuses a stack whose topology wants Jaeger without one
    tracing = topo.jaeger.enabled and bins.jaeger is not None
    if tracing:
        comps.append(_jaeger(topo, run, bins))
    comps += [c for name in topo.services for c in _service(topo, name, tracing)]
    comps += [
        Component(
            name="alertmanager",
            kind="alertmanager",
            argv=(
                str(bins.alertmanager),
                f"--config.file={run.config / 'alertmanager.yml'}",
                f"--storage.path={run.alertmanager_data}",
                f"--web.listen-address={host}:{topo.alertmanager.port}",
                "--cluster.listen-address=",
            ),
            port=topo.alertmanager.port,
            ready_url=f"http://{host}:{topo.alertmanager.port}/-/ready",
            tier=3,
        ),
        Component(
            name="prometheus",
            kind="prometheus",
            argv=(
                str(bins.prometheus),
                f"--config.file={run.config / 'prometheus.yml'}",
                f"--storage.tsdb.path={run.prometheus_data}",
                f"--web.listen-address={host}:{topo.prometheus.port}",
                "--enable-feature=exemplar-storage",
                "--web.enable-lifecycle",
                "--storage.tsdb.retention.time=2d",
            ),
            port=topo.prometheus.port,
            ready_url=f"http://{host}:{topo.prometheus.port}/-/ready",
            tier=4,
        ),
    ]
    return comps


def _postgres(topo: Topology, run: RunDir, bins: Binaries) -> Component:
    host = topo.host
    return Component(
        name="postgres",
        kind="postgres",
        argv=(
            str(bins.postgres),
            "-D",
            str(run.postgres_data),
            "-p",
            str(topo.postgres.port),
            "-k",
            str(run.postgres_data),
            "-c",
            f"listen_addresses={host}",
            "-c",
            "max_connections=200",
            "-c",
            "fsync=on",
        ),
        port=topo.postgres.port,
        ready_url=None,
        tier=0,
        user=postgres_user(),
        stop_signal=signal.SIGINT,  # "fast" shutdown: roll back clients, exit cleanly
    )


def redis_dir(run: RunDir) -> Path:
    """Redis's working directory (it writes nothing there: no snapshots, no AOF)."""
    return run.root / "redis"


def _redis(topo: Topology, run: RunDir, bins: Binaries) -> Component:
    """The cache (tier 0 like PostgreSQL: up before the replicas that use it)."""
    assert bins.redis is not None
    return Component(
        name="redis",
        kind="redis",
        argv=redis.argv(topo, bins.redis, redis_dir(run)),
        port=topo.redis.port,
        ready_url=None,
        tier=0,
    )


def _receiver(topo: Topology, run: RunDir) -> Component:
    """The webhook receiver Alertmanager delivers to (tier 0: up long before Alertmanager)."""
    host, port = topo.host, topo.alertmanager.receiver_port
    return Component(
        name="alert-receiver",
        kind="receiver",
        argv=(
            sys.executable,
            "-m",
            "harness.alerts.receiver",
            "--host",
            host,
            "--port",
            str(port),
            "--out",
            str(run.notifications),
        ),
        port=port,
        ready_url=f"http://{_bracketed(host)}:{port}/-/ready",
        tier=0,
    )


def _jaeger(topo: Topology, run: RunDir, bins: Binaries) -> Component:
    """The trace backend (tier 0: up before the replicas that export to it)."""
    assert bins.jaeger is not None
    port = topo.jaeger.health_port
    return Component(
        name="jaeger",
        kind="jaeger",
        argv=(str(bins.jaeger), "--config", str(run.jaeger_config)),
        port=port,
        ready_url=f"http://{_bracketed(topo.host)}:{port}{READY_PATH}",
        tier=0,
    )


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _service(topo: Topology, name: str, tracing: bool) -> list[Component]:
    """A started service: its init (if any), then its replicas, which wait for the init
    and, with `start: sequential`, each for the replica before it."""
    svc = topo.services[name]
    if svc.external is not None:
        return []
    # services that others call start first, so their callers find them ready
    tier = 2 if any(dep in topo.services for dep in svc.depends_on) else 1
    out = [_init(topo, name, tier)] if svc.init is not None else []
    for replica in topo.replicas_of(name):
        if svc.start == "sequential" and out:
            after: str | None = out[-1].name
        else:
            after = init_name(name) if svc.init is not None else None
        out.append(_replica(topo, replica, tracing, tier, after))
    return out


def init_name(service: str) -> str:
    return f"{service}-init"


def _init(topo: Topology, service: str, tier: int) -> Component:
    """A service's one-shot init, with replica 1's values (its links included)."""
    init = topo.services[service].init
    assert init is not None
    return Component(
        name=init_name(service),
        kind="init",
        argv=tuple(topo.init_argv(service, topo.host, sys.executable)),
        port=None,
        ready_url=None,
        tier=tier,
        env=topo.init_env(service, sys.executable),
        service=service,
        cwd=str(init.cwd) if init.cwd else None,
        timeout=init.timeout,
    )


def _replica(
    topo: Topology, replica: Replica, tracing: bool, tier: int, after: str | None
) -> Component:
    """A replica as the topology says to start it; its dependencies go through their proxies."""
    host, svc = topo.host, topo.services[replica.service]
    assert svc.command is not None
    return Component(
        name=replica.name,
        kind="app",
        argv=tuple(topo.argv(replica, host, sys.executable)),
        port=replica.port,
        ready_url=ready_url(topo, replica),
        tier=tier,
        env=_app_env(topo, replica, tracing),
        service=replica.service,
        cwd=str(svc.command.cwd) if svc.command.cwd else None,
        after=after,
        live=_live(topo, replica),
    )


def _live(topo: Topology, replica: Replica) -> LiveProbe | None:
    svc = topo.services[replica.service]
    if svc.live_path is None:
        return None
    url = f"http://{_bracketed(topo.host)}:{replica.port}{svc.live_path}"
    return LiveProbe(url, svc.live_period, svc.live_failures)


def _app_env(topo: Topology, replica: Replica, tracing: bool) -> dict[str, str]:
    """The topology's env for a replica; with Jaeger in the stack, `TRACING_ENV` and the
    OTLP endpoint of the stack's Jaeger under it (the topology's own values win)."""
    env = topo.env(replica, sys.executable)
    if not tracing:
        return env
    otel = {**TRACING_ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint(topo)}
    return {**otel, **env}


def child_env(comp: Component) -> dict[str, str]:
    """The environment a component starts with: ours (OTEL_* passes through) plus its own."""
    env = dict(os.environ)
    env.update(comp.env)
    return env
