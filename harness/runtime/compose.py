"""The same topology as docker compose: files generated from `stack.yaml`.

`harness compose` writes docker-compose.yml and compose/*; a test checks the
committed files equal what the topology generates, so the two runtimes cannot drift.
Containers reach each other by name; every hop still goes through Toxiproxy.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from harness.runtime.local.promconfig import alertmanager_config, prometheus_config, render
from harness.specs.topology import Replica, Topology

__all__ = ["compose_files"]

IMAGES = {
    "postgres": "postgres:15",
    "toxiproxy": "ghcr.io/shopify/toxiproxy:2.12.0",
    "prometheus": "prom/prometheus:v3.5.0",
    "alertmanager": "prom/alertmanager:v0.28.1",
}
HEADER = "# Generated from stack.yaml by `harness compose`; do not edit by hand.\n"


def _toxiproxy_config(topo: Topology) -> list[dict[str, Any]]:
    def upstream(target: str, port: int) -> str:
        return "postgres:5432" if target == "postgres" else f"{target}:{port}"

    return [
        {
            "name": lk.name,
            "listen": f"0.0.0.0:{lk.listen_port}",
            "upstream": upstream(lk.target, lk.upstream_port),
            "enabled": True,
        }
        for lk in topo.links
    ]


def _replica(topo: Topology, replica: Replica) -> dict[str, Any]:
    service, name, port = replica.service, replica.name, replica.port
    # inside its own container network namespace: all interfaces is what compose needs
    cmd = ["--service", service, "--replica", name, "--host", "0.0.0.0", "--port", str(port)]  # noqa: S104
    cmd += topo.dependency_flags(replica, "toxiproxy")
    return {
        "build": ".",
        "image": "chaos-harness-shop:latest",
        "container_name": name,
        "command": cmd,
        "restart": "unless-stopped",
        "depends_on": ["toxiproxy"],
        "environment": {
            "OTEL_SERVICE_NAME": service,
            "OTEL_RESOURCE_ATTRIBUTES": f"service.instance.id={name}",
        },
    }


def _services(topo: Topology) -> dict[str, Any]:
    pg, tp, prom, am = topo.postgres, topo.toxiproxy, topo.prometheus, topo.alertmanager
    edge = [lk.listen_port for lk in topo.links if lk.kind == "edge"]
    services: dict[str, Any] = {
        "postgres": {
            "image": IMAGES["postgres"],
            "container_name": "postgres",
            "restart": "unless-stopped",
            "environment": {
                "POSTGRES_USER": pg.user,
                "POSTGRES_DB": pg.database,
                "POSTGRES_HOST_AUTH_METHOD": "trust",
            },
            "volumes": ["./sample_app/schema.sql:/docker-entrypoint-initdb.d/10-schema.sql:ro"],
        },
        "toxiproxy": {
            "image": IMAGES["toxiproxy"],
            "container_name": "toxiproxy",
            "restart": "unless-stopped",
            "command": [
                "-host=0.0.0.0",
                f"-port={tp.port}",
                "-config=/config/toxiproxy.json",
                "-proxy-metrics",
            ],
            "volumes": ["./compose/toxiproxy.json:/config/toxiproxy.json:ro"],
            "ports": [f"127.0.0.1:{tp.port}:{tp.port}"] + [f"127.0.0.1:{p}:{p}" for p in edge],
            "depends_on": ["postgres"],
        },
    }
    for r in topo.replicas:
        services[r.name] = _replica(topo, r)
    services["alertmanager"] = {
        "image": IMAGES["alertmanager"],
        "container_name": "alertmanager",
        "command": [
            "--config.file=/etc/alertmanager/alertmanager.yml",
            f"--web.listen-address=0.0.0.0:{am.port}",
        ],
        "volumes": ["./compose/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"],
        "ports": [f"127.0.0.1:{am.port}:{am.port}"],
    }
    services["prometheus"] = {
        "image": IMAGES["prometheus"],
        "container_name": "prometheus",
        "command": [
            "--config.file=/etc/prometheus/prometheus.yml",
            f"--web.listen-address=0.0.0.0:{prom.port}",
            "--enable-feature=exemplar-storage",
            "--web.enable-lifecycle",
        ],
        "volumes": [
            "./compose/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
            "./alert_rules:/etc/prometheus/rules:ro",
        ],
        "ports": [f"127.0.0.1:{prom.port}:{prom.port}"],
        "depends_on": ["alertmanager"],
    }
    return services


def compose_files(topo: Topology) -> dict[str, str]:
    """Relative path → content, for every file the compose runtime needs."""
    prom = prometheus_config(
        topo,
        address=lambda name, port: f"{name}:{port}",
        rules_dir="/etc/prometheus/rules",
        local=False,
    )
    return {
        "docker-compose.yml": HEADER
        + yaml.safe_dump({"services": _services(topo)}, sort_keys=False),
        "compose/prometheus.yml": HEADER + render(prom),
        "compose/alertmanager.yml": HEADER + render(alertmanager_config()),
        "compose/toxiproxy.json": json.dumps(_toxiproxy_config(topo), indent=2) + "\n",
    }
