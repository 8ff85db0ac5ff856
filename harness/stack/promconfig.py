"""Prometheus and Alertmanager configuration, derived from the topology."""

from __future__ import annotations

from typing import Any

import yaml

from harness.topology import Topology

__all__ = ["alertmanager_config", "prometheus_config", "render"]


def prometheus_config(topo: Topology) -> dict[str, Any]:
    """Scrape every replica (labelled `replica`), Toxiproxy, the supervisor and ourselves."""
    interval = topo.prometheus.scrape_interval
    rules_dir = topo.prometheus.rules_dir
    host = topo.host
    jobs: list[dict[str, Any]] = []
    for service in topo.services:
        jobs.append(
            {
                "job_name": service,
                "static_configs": [
                    {"targets": [f"{host}:{r.port}"], "labels": {"replica": r.name}}
                    for r in topo.replicas_of(service)
                ],
            }
        )
    for job, port in (
        ("toxiproxy", topo.toxiproxy.port),
        ("harness-supervisor", topo.supervisor.metrics_port),
        ("prometheus", topo.prometheus.port),
        ("alertmanager", topo.alertmanager.port),
    ):
        jobs.append({"job_name": job, "static_configs": [{"targets": [f"{host}:{port}"]}]})
    return {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": interval,
        },
        "rule_files": [str(rules_dir.resolve() / "*.yml"), str(rules_dir.resolve() / "*.yaml")],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"{host}:{topo.alertmanager.port}"]}]}
            ]
        },
        "scrape_configs": jobs,
    }


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
