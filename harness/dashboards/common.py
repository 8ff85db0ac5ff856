"""What every dashboard shares: the datasource variable, chaos annotations, panel helpers.

Every panel reads the `$datasource` variable (never a fixed datasource), has a unit, and
every rate runs over `$__rate_interval`; `harness dashboards lint` holds the committed
JSON to the same rules. `finish` turns a builder into the JSON Grafana stores, with
stable panel ids and query refIds, so a regenerated file only changes when a panel does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, cast

from grafana_foundation_sdk.builders import (
    common,
    dashboard,
    prometheus,
    stat,
    statetimeline,
    timeseries,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.common import DataSourceRef
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from harness.dashboards.provisioning import JAEGER_UID, PROMETHEUS_UID

__all__ = [
    "CHAOS_TAG",
    "DATASOURCE",
    "JAEGER_UID",
    "PROMETHEUS_UID",
    "TAGS",
    "finish",
    "new_dashboard",
    "query",
    "query_variable",
    "regex_of",
    "render",
    "stat_panel",
    "states",
    "thresholds",
    "timeline",
    "timeseries_panel",
]

CHAOS_TAG = "chaos"  # every experiment annotation carries it (annotations.py)
TAGS = ["chaos-harness"]
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
_GRAFANA = DataSourceRef(type_val="grafana", uid="-- Grafana --")
_LEGEND = (
    common.VizLegendOptions()
    .show_legend(True)
    .display_mode(common_model.LegendDisplayMode.LIST)
    .placement(common_model.LegendPlacement.BOTTOM)
)
# Grafana's built-in annotations filter by tags; the SDK types `target` as a datasource
# query, so the filter goes in as one (its JSON is the same shape Grafana reads)
_CHAOS_FILTER = cast(Any, dashboard.AnnotationTarget().type("tags").tags([CHAOS_TAG]).limit(100))
_REGEX_SPECIAL = re.compile(r"([.+*?()\[\]{}|^$\\])")


def new_dashboard(title: str, uid: str, description: str) -> dashboard.Dashboard:
    """A dashboard with the `$datasource` variable and the experiments' annotations."""
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .refresh("10s")
        .time("now-15m", "now")
        .timezone("browser")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .with_variable(
            dashboard.DatasourceVariable("datasource")
            .label("Data source")
            .type("prometheus")
            .current(model.VariableOption(text="Prometheus", value=PROMETHEUS_UID))
        )
        .annotation(
            dashboard.AnnotationQuery()
            .name("Chaos experiments")
            .datasource(_GRAFANA)
            .enable(True)
            .icon_color("red")
            .target(_CHAOS_FILTER)
        )
    )


def query_variable(
    name: str, label: str, promql: str, current: str | None = None
) -> dashboard.QueryVariable:
    """A multi-select `label_values(...)` variable, refreshed with the time range; All
    expands to the listed values (no allValue), so `=~"$name"` keeps to them."""
    variable = (
        dashboard.QueryVariable(name)
        .label(label)
        .query(promql)
        .definition(promql)
        .datasource(DATASOURCE)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
    )
    if current is not None:
        variable = variable.current(model.VariableOption(text=current, value=current))
    return variable


def query(
    expr: str, legend: str = "", *, exemplar: bool = False, heatmap: bool = False
) -> prometheus.Dataquery:
    target = prometheus.Dataquery().expr(expr).datasource(DATASOURCE).range()
    if legend:
        target = target.legend_format(legend)
    if exemplar:
        target = target.exemplar(True)
    if heatmap:
        target = target.format(PromQueryFormat.HEATMAP)
    return target


def timeseries_panel(
    title: str, unit: str, targets: Sequence[prometheus.Dataquery], description: str = ""
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .unit(unit)
        .datasource(DATASOURCE)
        .legend(_LEGEND)
        .tooltip(common.VizTooltipOptions().mode(common_model.TooltipDisplayMode.MULTI))
    )
    if description:
        panel = panel.description(description)
    return panel.targets(list(targets))


def stat_panel(
    title: str, unit: str, target: prometheus.Dataquery, description: str = ""
) -> stat.Panel:
    panel = stat.Panel().title(title).unit(unit).datasource(DATASOURCE).with_target(target)
    return panel.description(description) if description else panel


def timeline(
    title: str, target: prometheus.Dataquery, names: dict[str, tuple[str, str]], description: str
) -> statetimeline.Panel:
    """A state timeline whose values are named states: value → (text, color)."""
    return (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .unit("none")
        .datasource(DATASOURCE)
        .mappings(states(names))
        .with_target(target)
    )


def states(names: dict[str, tuple[str, str]]) -> list[model.ValueMapping]:
    return [
        model.ValueMap(
            options={
                value: model.ValueMappingResult(text=text, color=color, index=i)
                for i, (value, (text, color)) in enumerate(names.items())
            }
        )
    ]


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    """Absolute thresholds: (value, color), the first value None (from -infinity)."""
    return (
        dashboard.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=v, color=c) for v, c in steps])
    )


def regex_of(names: Iterable[str]) -> str:
    """An alternation matching exactly these names, for a `=~"..."` matcher (PromQL's
    string escapes doubled)."""
    return "|".join(_REGEX_SPECIAL.sub(r"\\\\\1", n) for n in names)


def finish(board: dashboard.Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana's JSON: panel ids 1..n in order, refIds A, B, … per panel."""
    data: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    panels = data.get("panels", [])
    for number, panel in enumerate(_all_panels(panels), start=1):
        panel["id"] = number
        for i, target in enumerate(panel.get("targets", [])):
            target.setdefault("refId", chr(ord("A") + i))
    return data


def _all_panels(panels: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _all_panels(panel.get("panels", []))


def render(data: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, one trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
