"""Prometheus rules from an SLO file, in the shape Sloth v0.16 generates.

Per SLO (id `<service>-<slo name>`) three groups: the SLI recordings (seven windows and
the period), the seven meta recordings, and the alerts (page and ticket multiwindow,
multi-burn-rate alerts sharing the spec's alert name). Two additions beyond Sloth, on
unless `Options.guards` is off: the SLI counts zero traffic as zero errors, and a
ticket alert fires when an SLO's 5m SLI has no data. `Options.scale` shortens every
range for a local demo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import yaml

from harness.slo.spec import WINDOW, Alerting, AlertMeta, Slo, SloFile
from harness.slo.windows import (
    DAY,
    PERIODS,
    SLI_WINDOWS,
    BurnWindow,
    Period,
    burn_windows,
    go_float,
    prom_duration,
    scaled,
)

__all__ = ["Options", "render", "rule_groups"]

Rule = dict[str, Any]
_WINDOW_LABEL = "sloth_window"
_SLI = "slo:sli_error:ratio_rate"


@dataclass(frozen=True)
class Options:
    period: Period = "30d"
    scale: float = 1.0  # every range multiplied by this (names keep the nominal window)
    guards: bool = True  # zero traffic = zero errors; the no-data alert


@dataclass(frozen=True)
class _Ctx:
    """One SLO with what every rule of it needs."""

    service: str
    slo: Slo
    labels: dict[str, str]  # the file's and the SLO's
    opts: Options

    @property
    def ids(self) -> dict[str, str]:
        sid = f"{self.service}-{self.slo.name}"
        return {"sloth_id": sid, "sloth_service": self.service, "sloth_slo": self.slo.name}

    @property
    def filter(self) -> str:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(self.ids.items())) + "}"

    def range(self, seconds: int) -> str:
        return prom_duration(seconds if self.opts.scale == 1 else scaled(seconds, self.opts.scale))

    def budget(self) -> str:
        return go_float((100 - self.slo.objective) / 100)


def rule_groups(spec: SloFile, opts: Options) -> list[dict[str, Any]]:
    groups = []
    for slo in spec.slos:
        ctx = _Ctx(spec.service, slo, {**spec.labels, **slo.labels}, opts)
        sid = ctx.ids["sloth_id"]
        groups += [
            {"name": f"sloth-slo-sli-recordings-{sid}", "rules": _sli_rules(ctx)},
            {"name": f"sloth-slo-meta-recordings-{sid}", "rules": _meta_rules(ctx)},
        ]
        alerts = _alert_rules(ctx)
        if alerts:
            groups.append({"name": f"sloth-slo-alerts-{sid}", "rules": alerts})
    return groups


def _labels(*parts: dict[str, str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for part in parts:
        merged.update(part)
    return dict(sorted(merged.items()))


def _sli_expr(ctx: _Ctx, seconds: int) -> str:
    events = ctx.slo.sli.events
    err, total = (
        WINDOW.sub(ctx.range(seconds), q) for q in (events.error_query, events.total_query)
    )
    if not ctx.opts.guards:
        return f"({err})\n/\n({total})\n"
    # total 0 (or no error series yet): `/ (total > 0)` drops the NaN, `or 0 * total` says 0
    return f"({err})\n/\n(({total}) > 0)\nor\n0 * ({total})\n"


def _sli_rules(ctx: _Ctx) -> list[Rule]:
    rules: list[Rule] = [
        {
            "record": _SLI + prom_duration(w),
            "expr": _sli_expr(ctx, w),
            "labels": _labels(ctx.labels, ctx.ids, {_WINDOW_LABEL: prom_duration(w)}),
        }
        for w in SLI_WINDOWS
    ]
    period = PERIODS[ctx.opts.period]
    base = f"{_SLI}{prom_duration(SLI_WINDOWS[0])}{ctx.filter}[{ctx.range(period)}]"
    rules.append(
        {
            "record": _SLI + prom_duration(period),
            "expr": f"sum_over_time({base})\n/ ignoring ({_WINDOW_LABEL})\n"
            f"count_over_time({base})\n",
            # Sloth sets only sloth_window (the rest is inherited); the whole set keeps
            # promtool's duplicate-rule lint quiet when a file has several SLOs
            "labels": _labels(ctx.labels, ctx.ids, {_WINDOW_LABEL: prom_duration(period)}),
        }
    )
    return rules


def _burn_rate(ctx: _Ctx, metric: str) -> str:
    return (
        f"{metric}{ctx.filter}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
        f"slo:error_budget:ratio{ctx.filter}\n"
    )


def _meta_rules(ctx: _Ctx) -> list[Rule]:
    objective = go_float(ctx.slo.objective / 100)
    period = PERIODS[ctx.opts.period]
    exprs = {
        "slo:objective:ratio": f"vector({objective})",
        "slo:error_budget:ratio": f"vector(1-{objective})",
        "slo:time_period:days": f"vector({period // DAY})",
        "slo:current_burn_rate:ratio": _burn_rate(ctx, _SLI + prom_duration(SLI_WINDOWS[0])),
        "slo:period_burn_rate:ratio": _burn_rate(ctx, _SLI + prom_duration(period)),
        "slo:period_error_budget_remaining:ratio": f"1 - slo:period_burn_rate:ratio{ctx.filter}",
    }
    rules: list[Rule] = [
        {"record": name, "expr": expr, "labels": _labels(ctx.labels, ctx.ids)}
        for name, expr in exprs.items()
    ]
    info = {
        "sloth_mode": "cli-gen-prom",
        "sloth_objective": go_float(ctx.slo.objective),
        "sloth_spec": "prometheus/v1",
        "sloth_version": "harness",
    }
    rules.append({"record": "sloth_slo_info", "expr": "vector(1)",
                  "labels": _labels(ctx.labels, ctx.ids, info)})  # fmt: skip
    return rules


def _alert_rules(ctx: _Ctx) -> list[Rule]:
    alerting = ctx.slo.alerting
    rules = []
    pairs: tuple[tuple[Literal["page", "ticket"], AlertMeta], ...] = (
        ("page", alerting.page_alert),
        ("ticket", alerting.ticket_alert),
    )
    for severity, meta in pairs:
        if not meta.disable:
            rules.append(_mwmb_alert(ctx, severity, alerting, meta))
    if ctx.opts.guards and not alerting.ticket_alert.disable:
        rules.append(_no_data_alert(ctx, alerting, alerting.ticket_alert))
    return rules


def _condition(ctx: _Ctx, window: BurnWindow) -> str:
    threshold = f"({go_float(window.factor(PERIODS[ctx.opts.period]))} * {ctx.budget()})"
    short, long = (_SLI + prom_duration(w) + ctx.filter for w in (window.short, window.long))
    return (
        f"    max({short} > {threshold}) without ({_WINDOW_LABEL})\n    and\n"
        f"    max({long} > {threshold}) without ({_WINDOW_LABEL})\n"
    )


def _mwmb_alert(
    ctx: _Ctx, severity: Literal["page", "ticket"], alerting: Alerting, meta: AlertMeta
) -> Rule:
    quick, slow = burn_windows(severity)
    who = "{{$labels.sloth_service}} {{$labels.sloth_slo}}"
    annotations = {
        "title": f"({severity}) {who} SLO error budget burn rate is too fast.",
        "summary": f"{who} SLO error budget burn rate is over expected.",
    }
    return {
        "alert": alerting.name,
        "expr": f"(\n{_condition(ctx, quick)})\nor\n(\n{_condition(ctx, slow)})\n",
        "labels": _labels({"sloth_severity": severity}, alerting.labels, meta.labels),
        "annotations": _labels(annotations, alerting.annotations, meta.annotations),
    }


def _no_data_alert(ctx: _Ctx, alerting: Alerting, meta: AlertMeta) -> Rule:
    """No 5m SLI for one 5m window: the target or metric is gone and no burn alert can fire.

    `for` of one short window rides out a restart (rate needs two scrapes) and a missed
    evaluation, yet stays far below the hour the page alert needs to notice a burn.
    """
    who = "{{$labels.sloth_service}} {{$labels.sloth_slo}}"
    short = SLI_WINDOWS[0]
    extra = {k: v for k, v in {**alerting.annotations, **meta.annotations}.items()
             if k not in ("title", "summary")}  # fmt: skip
    return {
        "alert": (alerting.name or "SLO") + "NoData",
        "expr": f"absent({_SLI}{prom_duration(short)}{ctx.filter})",
        "for": ctx.range(short),
        "labels": _labels({"sloth_severity": "ticket"}, alerting.labels, meta.labels),
        "annotations": _labels(
            {
                "title": f"(ticket) {who} SLI has no data.",
                "summary": f"{who} SLI has had no data for {prom_duration(short)}: "
                "its burn-rate alerts cannot fire.",
            },
            extra,
        ),
    }


def _header(source: str, opts: Options) -> str:
    lines = [
        f"# Code generated by `harness slo generate` from {source}. DO NOT EDIT.",
        f"# Sloth v0.16's prometheus/v1 rules for a {opts.period} period.",
    ]
    if opts.guards:
        lines += [
            "# Beyond Sloth (on by default; `--no-guards` turns both off):",
            "# - zero traffic counts as no errors: each SLI is",
            "#   `(errors) / ((total) > 0) or 0 * (total)`, 0 instead of NaN, so an idle",
            "#   service never poisons the period's budget;",
            "# - a `<alert name>NoData` ticket alert per SLO when its 5m SLI is absent.",
        ]
    if opts.scale != 1:
        lines += [
            f"# Demo windows: every range and `for:` is scaled by {opts.scale} (whole seconds);",
            "#   rule names and sloth_window labels keep the nominal windows.",
        ]
    return "\n".join(lines) + "\n\n"


_STR = "tag:yaml.org,2002:str"


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # Go's yaml.v2, as Sloth writes: literal blocks, and "2" (a string that reads as a number)
    resolved = dumper.resolve(yaml.ScalarNode, data, (True, False))
    style = "|" if "\n" in data else ('"' if resolved != _STR else None)
    return dumper.represent_scalar(_STR, data, style=style)


_Dumper.add_representer(str, _str)


def render(spec: SloFile, source: str, opts: Options) -> str:
    """The rule file's text; `source` is named in its header."""
    body = yaml.dump(
        {"groups": rule_groups(spec, opts)},
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
    )
    return _header(source, opts) + body
