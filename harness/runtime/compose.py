"""The same topology as docker compose: files generated from `stack.yaml`.

`harness compose` writes docker-compose.yml and compose/*; a test checks the
committed files equal what the topology generates, so the two runtimes cannot drift.
Containers reach each other by name; every hop still goes through Toxiproxy. Grafana
reads the files `harness dashboards generate` writes (`dashboards/*.json` and
`dashboards/provisioning/`), mounted as they are; the replicas send their traces to
Jaeger over OTLP/HTTP.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from harness.dashboards.provisioning import DASHBOARDS_DIR, JAEGER_UI_PORT, PROVISIONING_DIR
from harness.runtime.local.components import START_TIMEOUT
from harness.runtime.promconfig import (
    SLO_RULES,
    alertmanager_config,
    prometheus_config,
    render,
    slo_rules,
)
from harness.specs.topology import Link, Replica, Topology

__all__ = ["compose_files"]

IMAGES = {
    "postgres": "postgres:15",
    "redis": "redis:7.0.15",
    "toxiproxy": "ghcr.io/shopify/toxiproxy:2.12.0",
    "prometheus": "prom/prometheus:v3.5.0",
    "alertmanager": "prom/alertmanager:v0.28.1",
    "jaeger": "jaegertracing/jaeger:2.11.0",
    # the Grafana 12 line: grafana-foundation-sdk 0.0.21 writes dashboard schemaVersion 42
    "grafana": "grafana/grafana:12.2.1",
}
GRAFANA_PORT = 3000
REDIS_PORT = 6379
JAEGER_OTLP_PORTS = (4317, 4318)  # gRPC, HTTP
OTLP_ENDPOINT = f"http://jaeger:{JAEGER_OTLP_PORTS[1]}"
RECEIVER_DATA = "/var/lib/alert-receiver"
HEADER = "# Generated from stack.yaml by `harness compose`; do not edit by hand.\n"


def _toxiproxy_config(topo: Topology) -> list[dict[str, Any]]:
    def upstream(link: Link) -> str:
        if link.target == "postgres":
            return "postgres:5432"
        if link.target == "redis":
            return f"redis:{REDIS_PORT}"
        if topo.is_external(link.target):  # running on the host, outside compose
            return f"host.docker.internal:{topo.upstream(link)[1]}"
        return f"{link.target}:{topo.replica_named(link.target).port}"

    return [
        {
            "name": lk.name,
            "listen": f"0.0.0.0:{lk.listen_port}",
            "upstream": upstream(lk),
            "enabled": True,
        }
        for lk in topo.links
    ]


def _replica(topo: Topology, replica: Replica) -> dict[str, Any]:
    """A launched replica as a container of the repository's image, with the topology's
    argv and env (its links through the toxiproxy container, as per_link's); inside its
    own network namespace it listens on all interfaces."""
    container = {
        "build": ".",
        "image": "chaos-harness-app:latest",
        "container_name": replica.name,
        "command": topo.argv(replica, "toxiproxy", "python", host="0.0.0.0"),  # noqa: S104
        "restart": "unless-stopped",
        "depends_on": _after(topo, replica),
        "environment": {
            "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_ENDPOINT,  # unless the topology's env says
            **topo.env(replica, "python", host="0.0.0.0", proxy_host="toxiproxy"),  # noqa: S104
        },
    }
    if topo.services[replica.service].start == "sequential":  # the next one waits for it
        container["healthcheck"] = _healthcheck(topo, replica)
    return container


def _after(topo: Topology, replica: Replica) -> list[str] | dict[str, dict[str, str]]:
    """What a replica's container waits for: its service's init to have succeeded and,
    with `start: sequential`, the replica before it to be healthy (ready)."""
    svc = topo.services[replica.service]
    after = {name: {"condition": "service_started"} for name in ("toxiproxy", "jaeger")}
    if svc.init is not None:
        after[f"{replica.service}-init"] = {"condition": "service_completed_successfully"}
    if svc.start == "sequential" and replica.index > 1:
        after[f"{replica.service}-{replica.index - 1}"] = {"condition": "service_healthy"}
    return list(after) if len(after) == 2 else after


def _healthcheck(topo: Topology, replica: Replica) -> dict[str, Any]:
    """Ready as the local supervisor judges it (ready_path answers 2xx, or the port
    accepts), checked with the image's python for at most START_TIMEOUT."""
    path, port = topo.services[replica.service].ready_path, replica.port
    probe = (
        f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=2)"
        if path
        else f"import socket; socket.create_connection(('127.0.0.1', {port}), 2)"
    )
    return {
        "test": ["CMD", "python", "-c", probe],
        "interval": "2s",
        "timeout": "3s",
        "retries": int(START_TIMEOUT / 2),
    }


def _init(topo: Topology, service: str) -> dict[str, Any]:
    """A service's init as a one-shot container, with its replica 1's values."""
    bind = "0.0.0.0"  # noqa: S104 (as a replica's, inside its own network namespace)
    return {
        "build": ".",
        "image": "chaos-harness-app:latest",
        "container_name": f"{service}-init",
        "command": topo.init_argv(service, "toxiproxy", "python", host=bind),
        "restart": "no",
        "depends_on": ["toxiproxy"],
        "environment": topo.init_env(service, "python", host=bind, proxy_host="toxiproxy"),
    }


def _redis(topo: Topology) -> dict[str, Any]:
    """The cache, as the local stack runs it: no persistence, LRU eviction."""
    return {
        "image": IMAGES["redis"],
        "container_name": "redis",
        "restart": "unless-stopped",
        "command": [
            "redis-server",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory",
            f"{topo.redis.maxmemory_mb}mb",
            "--maxmemory-policy",
            "allkeys-lru",
            "--protected-mode",  # reached over the compose network, through toxiproxy
            "no",
        ],
    }


def _services(topo: Topology, base: Path) -> dict[str, Any]:
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
            "volumes": _init_sql(topo, base),
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
            "extra_hosts": ["host.docker.internal:host-gateway"],  # external services
        },
    }
    if topo.uses_redis:
        services["redis"] = _redis(topo)
        services["toxiproxy"]["depends_on"].append("redis")
    for r in topo.launched:
        if r.index == 1 and topo.services[r.service].init is not None:
            services[f"{r.service}-init"] = _init(topo, r.service)
        services[r.name] = _replica(topo, r)
    services["alert-receiver"] = _receiver(topo)
    services["alertmanager"] = {
        "image": IMAGES["alertmanager"],
        "container_name": "alertmanager",
        "command": [
            "--config.file=/etc/alertmanager/alertmanager.yml",
            f"--web.listen-address=0.0.0.0:{am.port}",
        ],
        "volumes": ["./compose/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"],
        "ports": [f"127.0.0.1:{am.port}:{am.port}"],
        "depends_on": ["alert-receiver"],
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
            f"./compose/{SLO_RULES}:/etc/prometheus/{SLO_RULES}:ro",
        ],
        "ports": [f"127.0.0.1:{prom.port}:{prom.port}"],
        "depends_on": ["alertmanager"],
    }
    services["jaeger"] = _jaeger()
    services["grafana"] = _grafana()
    return services


def _jaeger() -> dict[str, Any]:
    """Jaeger v2's all-in-one (traces in memory): OTLP in, the UI and its API out."""
    ports = (*JAEGER_OTLP_PORTS, JAEGER_UI_PORT)
    return {
        "image": IMAGES["jaeger"],
        "container_name": "jaeger",
        "restart": "unless-stopped",
        # the image's own default: its receivers listen beyond the container's loopback
        "environment": {"JAEGER_LISTEN_HOST": "0.0.0.0"},  # noqa: S104
        "ports": [f"127.0.0.1:{p}:{p}" for p in ports],
    }


def _grafana() -> dict[str, Any]:
    """Grafana with anonymous viewers, its datasources and dashboards provisioned from
    the repository's own files (mounted, not copied)."""
    provisioning = "./dashboards/provisioning"
    return {
        "image": IMAGES["grafana"],
        "container_name": "grafana",
        "restart": "unless-stopped",
        "environment": {
            "GF_AUTH_ANONYMOUS_ENABLED": "true",
            "GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer",
            "GF_USERS_ALLOW_SIGN_UP": "false",
        },
        "volumes": [
            f"{provisioning}/datasources.yaml:{PROVISIONING_DIR}/datasources/chaos-harness.yaml:ro",
            f"{provisioning}/dashboards.yaml:{PROVISIONING_DIR}/dashboards/chaos-harness.yaml:ro",
            f"./dashboards:{DASHBOARDS_DIR}:ro",
        ],
        "ports": [f"127.0.0.1:{GRAFANA_PORT}:{GRAFANA_PORT}"],
        "depends_on": ["prometheus", "jaeger"],
    }


def _receiver(topo: Topology) -> dict[str, Any]:
    """The alert receiver (harness.alerts.receiver) from the repository's image; its
    notifications file lives in a named volume, so a restarted container keeps them."""
    port = topo.alertmanager.receiver_port
    return {
        "build": ".",
        "image": "chaos-harness-app:latest",
        "container_name": "alert-receiver",
        "command": [
            "python",
            "-m",
            "harness.alerts.receiver",
            "--host",
            "0.0.0.0",  # noqa: S104 (its own network namespace; published on 127.0.0.1 only)
            "--port",
            str(port),
            "--out",
            f"{RECEIVER_DATA}/notifications.jsonl",
        ],
        "restart": "unless-stopped",
        "volumes": [f"alert-notifications:{RECEIVER_DATA}"],
        "ports": [f"127.0.0.1:{port}:{port}"],
    }


def _init_sql(topo: Topology, base: Path) -> list[str]:
    """The topology's init SQL mounted where the postgres image runs it on first start."""
    sql = topo.postgres.init_sql
    if sql is None:
        return []
    where = os.path.relpath(sql, base)
    return [f"./{where}:/docker-entrypoint-initdb.d/10-init.sql:ro"]


def compose_files(topo: Topology, base: Path) -> dict[str, str]:
    """Relative path → content, for every file the compose runtime needs; `base` is the
    directory the files are written to (paths in them are relative to it)."""

    def by_name(name: str, port: int) -> str:  # containers reach each other by name
        return f"{name}:{port}"

    prom = prometheus_config(
        topo,
        address=by_name,
        rules_dir="/etc/prometheus/rules",
        local=False,
        slo_rules_dir=f"/etc/prometheus/{SLO_RULES}",
    )
    stack = {"services": _services(topo, base), "volumes": {"alert-notifications": {}}}
    return {
        "docker-compose.yml": HEADER + yaml.safe_dump(stack, sort_keys=False),
        "compose/prometheus.yml": HEADER + render(prom),
        "compose/alertmanager.yml": HEADER + render(alertmanager_config(topo, by_name)),
        "compose/toxiproxy.json": json.dumps(_toxiproxy_config(topo), indent=2) + "\n",
        **{f"compose/{SLO_RULES}/{name}": text for name, text in slo_rules(topo).items()},
    }
