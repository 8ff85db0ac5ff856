"""`harness slo generate`: Sloth v0.16's rules from prometheus/v1 SLO files, plus our guards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import InvalidInput
from harness.slo import Options, load_slo_file, render
from harness.slo.windows import PERIODS, burn_windows, go_float, prom_duration, scaled

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "slo"
SPEC = GOLDEN / "myservice.yaml"
CASES = {
    "myservice.30d-no-guards.yml": Options(period="30d", guards=False),
    "myservice.28d.yml": Options(period="28d"),
    "myservice.30d-scale-0.01.yml": Options(scale=0.01),
}
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool")


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env,
    )  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    # regenerate after a deliberate change: see tests/golden/slo/README.md
    assert render(load_slo_file(SPEC), SPEC.name, CASES[name]) == (GOLDEN / name).read_text()


def test_the_shop_rules_are_current():
    result = harness("slo", "generate", "slo/shop.yaml", "--out", "alert_rules/slo", "--check")
    assert result.returncode == 0, result.stderr


def test_check_says_1_for_a_stale_file(tmp_path):
    (tmp_path / "slo-shop.yml").write_text("groups: []\n")
    result = harness("slo", "generate", "slo/shop.yaml", "--out", str(tmp_path), "--check")
    assert result.returncode == 1
    assert "slo-shop.yml is not what" in result.stderr


def test_generate_writes_then_check_passes(tmp_path):
    args = ("slo", "generate", "slo/shop.yaml", "--out", str(tmp_path), "--window-scale", "0.01")
    assert harness(*args).returncode == 0
    assert harness(*args, "--check").returncode == 0
    assert "[3s]" in (tmp_path / "slo-shop.yml").read_text()


@needs_promtool
@pytest.mark.parametrize("opts", [Options(), Options(period="28d"), Options(scale=0.01)], ids=str)
def test_promtool_accepts_the_rules(tmp_path, opts):
    path = tmp_path / "slo-shop.yml"
    path.write_text(render(load_slo_file(ROOT / "slo" / "shop.yaml"), "shop.yaml", opts))
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("period", "factors"),
    [("30d", [14.4, 6, 3, 1]), ("28d", [13.44, 5.6, 2.8, 0.9333333333333333])],
)
def test_burn_rate_factors(period, factors):
    windows = [*burn_windows("page"), *burn_windows("ticket")]
    assert [w.factor(PERIODS[period]) for w in windows] == pytest.approx(factors)
    assert [(w.short, w.long) for w in windows] == [
        (300, 3600), (1800, 21600), (7200, 86400), (21600, 259200),
    ]  # fmt: skip


def test_floats_print_as_sloth_prints_them():
    assert go_float((100 - 99.9) / 100) == "0.0009999999999999432"
    assert go_float(99.9 / 100) == "0.9990000000000001"
    assert go_float(burn_windows("page")[1].factor(PERIODS["28d"])) == "5.6000000000000005"
    assert go_float(burn_windows("page")[0].factor(PERIODS["30d"])) == "14.4"
    assert go_float(6.0) == "6"


def test_prometheus_durations():
    assert [prom_duration(s) for s in (300, 3600, 86400, 30 * 86400, 28 * 86400)] == [
        "5m", "1h", "1d", "30d", "4w",
    ]  # fmt: skip
    assert prom_duration(72) == "1m12s"
    assert prom_duration(3 * 86400 * 0 + 25920) == "7h12m"


def test_window_scale_rounds_to_whole_seconds_and_never_to_zero():
    assert [scaled(s, 0.01) for s in (300, 1800, 3600, 30 * 86400)] == [3, 18, 36, 25920]
    assert scaled(300, 0.001) == 1 and scaled(300, 0.0001) == 1
    text = render(load_slo_file(SPEC), SPEC.name, Options(scale=0.01))
    assert "[7h12m]" in text and "for: 3s" in text and "scaled by 0.01" in text
    assert "record: slo:sli_error:ratio_rate5m" in text  # names keep the nominal window


def test_a_bad_window_scale_is_a_usage_error():
    result = harness("slo", "generate", "slo/shop.yaml", "--window-scale", "0", "--check")
    assert result.returncode == 3
    assert "--window-scale" in result.stderr + result.stdout


def test_guards_are_said_in_the_header():
    text = render(load_slo_file(SPEC), SPEC.name, Options())
    assert "Beyond Sloth" in text.split("groups:")[0]
    assert "> 0)\n      or\n      0 * (" in text and "absent(slo:sli_error:ratio_rate5m{" in text
    plain = render(load_slo_file(SPEC), SPEC.name, Options(guards=False))
    assert "Beyond Sloth" not in plain and "absent(" not in plain and "0 * (" not in plain


def _bad(tmp_path: Path, old: str, new: str) -> list[str]:
    path = tmp_path / "bad.yaml"
    path.write_text(SPEC.read_text().replace(old, new, 1))
    with pytest.raises(InvalidInput) as info:
        load_slo_file(path)
    return [str(i) for i in info.value.issues]


def test_a_query_without_window_is_a_file_line_error(tmp_path):
    issues = _bad(tmp_path, '"myservice"}[{{.window}}]))', '"myservice"}[5m]))')
    assert len(issues) == 1
    assert issues[0].startswith(f"{tmp_path / 'bad.yaml'}:16: slos.0.sli.events.total_query:")
    assert "{{.window}}" in issues[0]


@pytest.mark.parametrize("objective", ["100.5", "0", "-1"])
def test_an_objective_out_of_range_is_a_file_line_error(tmp_path, objective):
    issues = _bad(tmp_path, "objective: 99.9", f"objective: {objective}")
    assert len(issues) == 1 and issues[0].startswith(
        f"{tmp_path / 'bad.yaml'}:11: slos.0.objective:"
    )


def test_unknown_fields_and_versions_are_refused(tmp_path):
    assert ":3: version:" in _bad(tmp_path, '"prometheus/v1"', '"prometheus/v2"')[0]
    assert ":10: slos.0.nam:" in _bad(tmp_path, '- name: "requests-av', '- nam: "requests-av')[0]


@needs_promtool
def test_zero_traffic_is_zero_errors_and_no_data_alerts(tmp_path):
    """promtool unit test: an idle gateway gives SLI 0 (not NaN); no series fires NoData."""
    rules = tmp_path / "slo-shop.yml"
    rules.write_text(render(load_slo_file(ROOT / "slo" / "shop.yaml"), "shop.yaml", Options()))
    test = tmp_path / "test.yml"
    test.write_text(_PROMTOOL_TEST)
    result = subprocess.run(["promtool", "test", "rules", str(test)], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr


_PROMTOOL_TEST = """
rule_files: [slo-shop.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_server_requests_total{service="gateway",code="200"}'
        values: '5x20'
    promql_expr_test:
      - expr: slo:sli_error:ratio_rate5m{sloth_slo="requests-availability"}
        eval_time: 10m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{category="availability", owner="shop-team",
              sloth_id="shop-requests-availability", sloth_service="shop",
              sloth_slo="requests-availability", sloth_window="5m"}'
            value: 0
  - interval: 1m
    alert_rule_test:
      - eval_time: 10m
        alertname: ShopAvailabilitySLONoData
        exp_alerts:
          - exp_labels: {category: availability, severity: ticket, sloth_severity: ticket,
              sloth_id: shop-requests-availability, sloth_service: shop,
              sloth_slo: requests-availability}
            exp_annotations:
              title: (ticket) shop requests-availability SLI has no data.
              summary: 'shop requests-availability SLI has had no data for 5m: its
                burn-rate alerts cannot fire.'
"""
