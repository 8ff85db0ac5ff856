"""The detection floor read from rules: crossing times, `for:`, groups, group_wait."""

from __future__ import annotations

import pytest

from harness.alerts.floor import Timing, floor_of, prom_seconds
from harness.alerts.rules import Rule

TIMING = Timing(scrape=1.0, evaluation=1.0, group_wait=2.0)


def rule(kind: str, name: str, expr: str, group: str = "g", for_: str = "", **labels: str) -> Rule:
    return Rule("f.yml", 1, kind, name, expr, dict(labels), {}, group, for_)


RATIO = rule(
    "record",
    "service:errors:ratio_rate1m",
    'sum(rate(req_total{code=~"5.."}[1m])) / sum(rate(req_total[1m]))',
)


def test_ratio_alert_crosses_after_theta_w_over_p() -> None:
    alert = rule("alert", "A", "service:errors:ratio_rate1m > 0.05", for_="30s")
    floor = floor_of(alert, [RATIO, alert], 0.5, TIMING)
    # 0.05 * 60 / 0.5 = 6 s to cross, + scrape 1 + evaluation 1 + for 30
    assert floor.fire == 38.0
    assert floor.notify == 40.0
    assert "θ 0.05, W 60s, p 0.5" in floor.explain()


def test_a_window_part_full_of_traffic_crosses_sooner() -> None:
    alert = rule("alert", "A", "service:errors:ratio_rate1m > 0.05")
    # 10 s of traffic before the fault: p·x / (10 + x) = 0.05 at x = 0.5 / 0.45
    floor = floor_of(alert, [RATIO, alert], 0.5, TIMING, history=10.0)
    assert dict(floor.parts)["crossing"] == pytest.approx(0.05 * 10 / 0.45, abs=1e-3)
    assert "H 10s of traffic before the fault in W 60s" in floor.note
    # with the window nearly full, the full-window formula takes over where they meet
    full = floor_of(alert, [RATIO, alert], 0.5, TIMING, history=59.0)
    assert dict(full.parts)["crossing"] == 6.0


def test_a_rule_in_another_group_costs_one_evaluation() -> None:
    alert = rule("alert", "A", "service:errors:ratio_rate1m > 0.05", group="other")
    floor = floor_of(alert, [RATIO, alert], 1.0, TIMING)
    assert ("evaluation of another group", 1.0) in floor.parts
    assert floor.fire == 1 + 1 + 1 + 3.0


def test_share_under_the_threshold_never_fires() -> None:
    alert = rule("alert", "A", "service:errors:ratio_rate1m > 0.05")
    floor = floor_of(alert, [RATIO, alert], 0.04, TIMING)
    assert floor.fire is None and floor.notify is None
    assert floor.explain().startswith("cannot fire")


def test_quantile_crosses_when_the_slow_share_fills_the_window() -> None:
    expr = "histogram_quantile(0.99, sum by (le) (rate(d_bucket[2m]))) > 1"
    alert = rule("alert", "P99", expr, for_="1m")
    asked: list[tuple[str, float]] = []

    def share(kind: str, threshold: float) -> float:
        asked.append((kind, threshold))
        return 0.5

    floor = floor_of(alert, [alert], share, TIMING)
    assert asked == [("quantile", 1.0)]
    assert floor.fire == pytest.approx(1 + 1 + 0.01 * 120 / 0.5 + 60)


def test_sloth_burn_alert_and_waits_for_the_long_window_or_takes_the_faster_pair() -> None:
    records = [
        rule(
            "record",
            "slo:sli_error:ratio_rate5m",
            "sum(rate(e[5m])) / sum(rate(t[5m]))",
            sloth_id="x",
            sloth_window="5m",
        ),
        rule(
            "record",
            "slo:sli_error:ratio_rate1h",
            "sum(rate(e[1h])) / sum(rate(t[1h]))",
            sloth_id="x",
            sloth_window="1h",
        ),
        rule(
            "record",
            "slo:sli_error:ratio_rate30m",
            "sum(rate(e[30m])) / sum(rate(t[30m]))",
            sloth_id="x",
            sloth_window="30m",
        ),
        rule(
            "record",
            "slo:sli_error:ratio_rate6h",
            "sum(rate(e[6h])) / sum(rate(t[6h]))",
            sloth_id="x",
            sloth_window="6h",
        ),
        # another SLO's record of the same name must not be followed
        rule(
            "record",
            "slo:sli_error:ratio_rate1h",
            "sum(rate(e[3d])) / sum(rate(t[3d]))",
            sloth_id="y",
        ),
    ]
    expr = (
        '(max(slo:sli_error:ratio_rate5m{sloth_id="x"} > (14.4 * 0.001)) without (sloth_window)'
        ' and max(slo:sli_error:ratio_rate1h{sloth_id="x"} > (14.4 * 0.001)) without'
        ' (sloth_window)) or (max(slo:sli_error:ratio_rate30m{sloth_id="x"} > (6 * 0.001))'
        ' without (sloth_window) and max(slo:sli_error:ratio_rate6h{sloth_id="x"} >'
        " (6 * 0.001)) without (sloth_window))"
    )
    alert = rule("alert", "Burn", expr, group="alerts")
    floor = floor_of(alert, [*records, alert], 1.0, TIMING)
    crossing = dict(floor.parts)["crossing"]
    # page pair: max(0.0144*300, 0.0144*3600) = 51.84; slow pair: max(10.8, 129.6)
    assert crossing == pytest.approx(51.84)


def test_gauges_and_falls_cross_at_once_and_say_so() -> None:
    down = rule("alert", "Down", "up == 0", for_="10s")
    assert floor_of(down, [down], 1.0, TIMING).fire == 12.0
    drop = rule("alert", "Drop", "sum(rate(t[1m])) / sum(rate(t[1m] offset 1h)) < 0.5")
    floor = floor_of(drop, [drop], 1.0, TIMING)
    assert floor.fire == 2.0 and "not modelled" in floor.note


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("1m30s", 90), ("5m", 300), ("1d", 86400), ("250ms", 0.25)]
)
def test_prom_seconds(text: str, seconds: float) -> None:
    assert prom_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "1.5m", "m", "5 m"])
def test_prom_seconds_refuses_what_prometheus_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        prom_seconds(text)


def test_a_rule_read_through_a_range_in_another_group_costs_one_evaluation_too() -> None:
    # the selector inside `x[1m]` is a node of the tree too (it once was not walked)
    alert = rule(
        "alert", "A", "max_over_time(service:errors:ratio_rate1m[1m]) > 0.05", group="other"
    )
    floor = floor_of(alert, [RATIO, alert], 1.0, TIMING)
    assert ("evaluation of another group", 1.0) in floor.parts
