"""Grafana's provisioning files for the compose stack, and where the container reads them.

`dashboards/provisioning/datasources.yaml`: Prometheus (the compose container, the
topology's port and scrape interval) with exemplar trace ids linked to Jaeger, and
Jaeger itself. `dashboards/provisioning/dashboards.yaml`: a file provider reading the
dashboards' JSON from the mounted `dashboards/` folder. compose.py mounts both (the same
files, not copies) at the paths below.
"""

from __future__ import annotations

from typing import Any

import yaml

from harness.specs.topology import Topology

__all__ = [
    "DASHBOARDS_DIR",
    "EXEMPLAR_LABEL",
    "FOLDER",
    "JAEGER_UID",
    "JAEGER_UI_PORT",
    "PROMETHEUS_UID",
    "PROVISIONING_DIR",
    "datasources",
    "providers",
    "render",
]

PROMETHEUS_UID = "prometheus"  # the dashboards' default datasource
JAEGER_UID = "jaeger"  # where exemplar trace ids lead
FOLDER = "chaos-harness"  # the Grafana folder, for provisioned and pushed dashboards alike
PROVISIONING_DIR = "/etc/grafana/provisioning"  # in the Grafana container
DASHBOARDS_DIR = "/var/lib/grafana/dashboards"  # in the Grafana container
JAEGER_UI_PORT = 16686
# the exemplar label the sample app writes (sample_app/observability/metrics.py)
EXEMPLAR_LABEL = "trace_id"
HEADER = "# Generated from stack.yaml by `harness dashboards generate`; do not edit by hand.\n"


def datasources(topo: Topology) -> dict[str, Any]:
    prometheus = {
        "name": "Prometheus",
        "type": "prometheus",
        "uid": PROMETHEUS_UID,
        "access": "proxy",
        "url": f"http://prometheus:{topo.prometheus.port}",
        "isDefault": True,
        "editable": False,
        "jsonData": {
            "timeInterval": topo.prometheus.scrape_interval,
            "httpMethod": "POST",
            "exemplarTraceIdDestinations": [
                {"name": EXEMPLAR_LABEL, "datasourceUid": JAEGER_UID},
            ],
        },
    }
    jaeger = {
        "name": "Jaeger",
        "type": "jaeger",
        "uid": JAEGER_UID,
        "access": "proxy",
        "url": f"http://jaeger:{JAEGER_UI_PORT}",
        "editable": False,
    }
    return {"apiVersion": 1, "datasources": [prometheus, jaeger]}


def providers() -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": FOLDER,
                "type": "file",
                "folder": FOLDER,
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": DASHBOARDS_DIR},
            }
        ],
    }


def render(config: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(config, sort_keys=False)
