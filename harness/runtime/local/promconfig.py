"""Prometheus and Alertmanager configuration, derived from the topology."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from harness.specs.topology import Replica, Topology

__all__ = ["alertmanager_config", "prometheus_config", "render"]


Address = Callable[[str, int], str]


def prometheus_config(
    topo: Topology,
    address: Address | None = None,
    rules_dir: str | None = None,
    local: bool = True,
) -> dict[str, Any]:
    """Scrape every replica of a service with a `metrics_path` (labelled `replica`),
    Toxiproxy, the supervisor and ourselves. A service without one is not scraped: its
    experiments judge it with client probes.

    `address(component, port)` places a component on the network: loopback for the
    local stack, the container's name under compose (where `local=False` also drops
    the supervisor, which only exists locally).
    """
    interval = topo.prometheus.scrape_interval
    rules = rules_dir or str(topo.prometheus.rules_dir.resolve())
    where = address or (lambda _name, port: f"{topo.host}:{port}")
    jobs: list[dict[str, Any]] = []
    for service, spec in topo.services.items():
        if spec.metrics_path is None:
            continue
        job: dict[str, Any] = {"job_name": service}
        if spec.metrics_path != "/metrics":
            job["metrics_path"] = spec.metrics_path
        job["static_configs"] = [
            {"targets": [_target(topo, where, r)], "labels": {"replica": r.name}}
            for r in topo.replicas_of(service)
        ]
        jobs.append(job)
    infra = [
        ("toxiproxy", topo.toxiproxy.port),
        ("prometheus", topo.prometheus.port),
        ("alertmanager", topo.alertmanager.port),
    ]
    if local:
        infra.insert(1, ("harness-supervisor", topo.supervisor.metrics_port))
    for name, port in infra:
        jobs.append({"job_name": name, "static_configs": [{"targets": [where(name, port)]}]})
    return {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": interval,
        },
        "rule_files": [f"{rules}/*.yml", f"{rules}/*.yaml"],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [where("alertmanager", topo.alertmanager.port)]}]}
            ]
        },
        "scrape_configs": jobs,
    }


def _target(topo: Topology, where: Address, replica: Replica) -> str:
    if topo.is_external(replica.name):  # scraped where it runs, not through a proxy
        host, port = topo.upstream(next(lk for lk in topo.links if lk.target == replica.name))
        return f"{host}:{port}" if where("x", 1) == f"{topo.host}:1" else f"host.docker.internal:{port}"
    return where(replica.name, replica.port)


def alertmanager_config() -> dict[str, Any]:
    """A receiver that records alerts in Alertmanager only (nothing leaves the machine)."""
    return {
        "route": {
            "receiver": "local",
            "group_by": ["alertname", "service"],
            "group_wait": "1s",
            "group_interval": "5s",
            "repeat_interval": "1h",
        },
        "receivers": [{"name": "local"}],
    }


def render(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False)
