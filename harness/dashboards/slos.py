"""SLOs: one row per SLO of the topology's `slo.files`, from Sloth's recording rules.

Each row shows the SLI against its objective, the error budget left over the period,
the burn rate over each of Sloth's SLI windows beside the burn-rate alerts' factors, and
the state of the SLO's alerts. Windows are named as the rules name them: on a local stack
whose `slo.window_scale` shortens them, `5m` is the rule that covers 5 scaled minutes.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import common as common_model

from harness.dashboards.common import (
    finish,
    new_dashboard,
    query,
    stat_panel,
    thresholds,
    timeline,
    timeseries_panel,
)
from harness.slo import load_slo_file
from harness.slo.spec import Slo, SloFile
from harness.slo.windows import PERIODS, SLI_WINDOWS, burn_windows, prom_duration
from harness.specs.topology import Topology

__all__ = ["UID", "build"]

UID = "harness-slos"
WINDOWS = "|".join(prom_duration(w) for w in SLI_WINDOWS)
ALERT_STATES = {"0": ("ok", "green"), "1": ("pending", "yellow"), "2": ("firing", "red")}


def _sli(sid: str) -> Any:
    return timeseries_panel(
        "SLI against objective",
        "percentunit",
        [
            query(f'1 - slo:sli_error:ratio_rate5m{{sloth_id="{sid}"}}', "SLI (5m)"),
            query(f'1 - slo:sli_error:ratio_rate1h{{sloth_id="{sid}"}}', "SLI (1h)"),
            query(f'slo:objective:ratio{{sloth_id="{sid}"}}', "objective"),
        ],
        "Share of good events over the rules' 5m and 1h windows, and the objective.",
    ).span(10)


def _budget(sid: str) -> Any:
    return (
        stat_panel(
            "Error budget remaining",
            "percentunit",
            query(f'slo:period_error_budget_remaining:ratio{{sloth_id="{sid}"}}', "remaining"),
            "Share of the period's error budget left (negative: overspent).",
        )
        .thresholds(thresholds((None, "red"), (0, "orange"), (0.25, "green")))
        .span(4)
    )


def _burn(sid: str, period: int) -> Any:
    factors = sorted({w.factor(period) for s in ("page", "ticket") for w in burn_windows(s)})
    colors = ("yellow", "orange", "red", "dark-red")
    expr = (
        f'{{__name__=~"slo:sli_error:ratio_rate({WINDOWS})", sloth_id="{sid}"}}\n'
        f"/ on (sloth_id) group_left\n"
        f'slo:error_budget:ratio{{sloth_id="{sid}"}}'
    )
    return (
        timeseries_panel(
            "Burn rate per window",
            "short",
            [query(expr, "{{sloth_window}}")],
            "Error rate over each window divided by the error budget; the threshold lines "
            "are the burn-rate alerts' factors (page: the two highest).",
        )
        .thresholds(thresholds((None, "green"), *zip(factors, colors, strict=False)))
        .thresholds_style(
            common_builder.GraphThresholdsStyleConfig().mode(
                common_model.GraphThresholdsStyleMode.DASHED
            )
        )
        .span(10)
    )


def _alert_states(sid: str, slo: Slo) -> Any:
    """2 firing, 1 pending, 0 quiet, per severity: never empty while the SLO's rules load
    (the zeros come from `sloth_slo_info`)."""
    alerts = f'ALERTS{{sloth_id="{sid}", alertstate="%s"}}'
    states = f"max by (sloth_severity) (2 * {alerts % 'firing'} or {alerts % 'pending'})"
    severities = [
        s
        for s, meta in (("page", slo.alerting.page_alert), ("ticket", slo.alerting.ticket_alert))
        if not meta.disable
    ]
    zeros = [
        f'max by (sloth_severity) (label_replace(0 * sloth_slo_info{{sloth_id="{sid}"}}, '
        f'"sloth_severity", "{s}", "", ""))'
        for s in severities
    ]
    return (
        timeline(
            "Alert states",
            query("\nor ".join([states, *zeros]), "{{sloth_severity}}"),
            ALERT_STATES,
            f"The SLO's burn-rate alerts ({slo.alerting.name or 'none'}) per severity.",
        )
        .span(24)
        .height(5)
    )


def _rows(spec: SloFile, period: int) -> list[tuple[str, list[Any]]]:
    rows = []
    for slo in spec.slos:
        sid = f"{spec.service}-{slo.name}"
        title = f"{spec.service} / {slo.name} ({slo.objective:g}%)"
        rows.append((title, [_sli(sid), _budget(sid), _burn(sid, period), _alert_states(sid, slo)]))
    return rows


def build(topo: Topology) -> dict[str, Any] | None:
    """None when the topology names no SLO files."""
    if not topo.slo.files:
        return None
    board = new_dashboard(
        "SLOs",
        UID,
        "Each SLO of the topology: SLI against objective, error budget, burn rates, alerts.",
    )
    period = PERIODS[topo.slo.period]
    for path in topo.slo.files:
        for title, panels in _rows(load_slo_file(path), period):
            board = board.with_row(dashboard.Row(title))
            for panel in panels:
                board = board.with_panel(panel)
    return finish(board)
