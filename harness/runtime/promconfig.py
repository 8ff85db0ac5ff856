"""Prometheus and Alertmanager configuration, derived from the topology."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from harness.slo import Options, load_slo_file
from harness.slo import render as render_slo
from harness.specs.topology import Replica, Topology

__all__ = ["SLO_RULES", "alertmanager_config", "prometheus_config", "render", "slo_rules"]

SLO_RULES = "slo-rules"  # the folder, beside prometheus.yml, of the SLO rules `up` generates


Address = Callable[[str, int], str]


def prometheus_config(
    topo: Topology,
    address: Address | None = None,
    rules_dir: str | None = None,
    local: bool = True,
    slo_rules_dir: str | None = None,
) -> dict[str, Any]:
    """Scrape every replica of a service with a `metrics_path` (labelled `replica`),
    Toxiproxy, the supervisor and ourselves. A service without one is not scraped: its
    experiments judge it with client probes.

    `address(component, port)` places a component on the network: loopback for the
    local stack, the container's name under compose (where `local=False` also drops
    the supervisor, which only exists locally). `slo_rules_dir`: where the rules of
    the topology's SLOs are written (`slo_rules`), loaded beside the rules directory's.
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
        "rule_files": [f"{rules}/*.yml", f"{rules}/*.yaml"]
        + ([f"{slo_rules_dir}/*.yml"] if slo_rules_dir and topo.slo.files else []),
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
        return (
            f"{host}:{port}"
            if where("x", 1) == f"{topo.host}:1"
            else f"host.docker.internal:{port}"
        )
    return where(replica.name, replica.port)


RECEIVERS = ("page", "ticket", "default")
# First match wins. `severity` decides; an alert without one (Sloth's SLO alerts carry only
# `sloth_severity`) is routed by `sloth_severity`; anything else goes to `default`.
ROUTES = (
    ("page", ['severity="page"']),
    ("ticket", ['severity="ticket"']),
    ("page", ['severity=""', 'sloth_severity="page"']),
    ("ticket", ['severity=""', 'sloth_severity="ticket"']),
)


def alertmanager_config(topo: Topology, address: Address | None = None) -> dict[str, Any]:
    """Route by severity to webhook receivers `page`, `ticket` and `default`, all served by
    the harness's alert receiver (harness.alerts.receiver), which records each notification
    with its arrival time. `address` places the receiver as in `prometheus_config`.

    Timing (REFERENCE, "Alert detection: the floor"): time to notification = time to
    firing + group_wait, + up to group_interval when the alert joins a group that has
    already notified. So:
    - group_by `...` makes every distinct label set its own group: two different alerts
      (two replicas' ReplicaDown, two open breakers of one service) never
      share a group, so none ever waits a group_interval behind another. Listing labels
      (alertname, service, sloth_slo) would still merge alerts that differ only in
      `replica`, `upstream` or `component`.
    - group_wait 1s: the floor's only fixed cost for a new alert; no batching is worth
      more than a second on a local stack.
    - group_interval 1s: it now only delays a group's later news (its resolution, or the
      alert firing again), so a resolved notification arrives within ~1 s of endsAt;
      Alertmanager sends nothing when a group has not changed, so a short interval is
      not noise, and flushing a handful of groups a second costs nothing locally.
    - repeat_interval 1h: a still-firing alert is not re-sent during an experiment.
    """
    where = address or (lambda _name, port: _hostport(topo.host, port))
    base = f"http://{where('alert-receiver', topo.alertmanager.receiver_port)}/hooks"
    return {
        "route": {
            "receiver": "default",
            "group_by": ["..."],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
            "routes": [{"receiver": name, "matchers": list(m)} for name, m in ROUTES],
        },
        "receivers": [
            {"name": name, "webhook_configs": [{"url": f"{base}/{name}", "send_resolved": True}]}
            for name in RECEIVERS
        ],
    }


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def slo_rules(topo: Topology) -> dict[str, str]:
    """File name → rules text for each of the topology's SLO files, generated as
    `harness slo generate --window-scale` would with the topology's scale and period."""
    opts = Options(period=topo.slo.period, scale=topo.slo.window_scale, guards=True)
    return {
        f"slo-{path.stem}.yml": render_slo(load_slo_file(path), path.name, opts)
        for path in topo.slo.files
    }


def render(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False)
