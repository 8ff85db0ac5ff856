"""Every file `harness dashboards generate` writes, from one topology."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.dashboards import chaos, golden_signals, provisioning, slos
from harness.dashboards.common import render
from harness.specs.topology import Topology

__all__ = ["BUILDERS", "dashboard_files", "dashboards"]

# file name → builder; a builder returns None when the topology has nothing for it
BUILDERS: dict[str, Callable[[Topology], dict[str, Any] | None]] = {
    "golden-signals.json": golden_signals.build,
    "slos.json": slos.build,
    "chaos.json": chaos.build,
}


def dashboards(topo: Topology) -> dict[str, dict[str, Any]]:
    """File name → dashboard JSON, for each dashboard the topology has data for."""
    built = {name: build(topo) for name, build in BUILDERS.items()}
    return {name: data for name, data in built.items() if data is not None}


def dashboard_files(topo: Topology) -> dict[str, str]:
    """Relative path → text: the dashboards and Grafana's provisioning files."""
    return {
        **{name: render(data) for name, data in dashboards(topo).items()},
        "provisioning/datasources.yaml": provisioning.render(provisioning.datasources(topo)),
        "provisioning/dashboards.yaml": provisioning.render(provisioning.providers()),
    }
