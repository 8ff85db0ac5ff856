"""`harness alerts check` runs every promtool it finds: PATH's, and the rules' project's
`.bin/prom3/promtool`, each version its own case, judged by exit code only."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.alerts import check_paths, write_junit
from harness.alerts.tools import promtool3_path, promtools

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool")

RULES = """\
groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        for: 10s
        labels:
          severity: ticket
        annotations:
          summary: "{{ $labels.job }} is down"
          runbook_url: docs/runbooks.md#a
"""
TEST = """\
rule_files: [../r.yml]
evaluation_interval: 1s
tests:
  - interval: 1s
    input_series: [{series: 'up{job="x"}', values: '0x30'}]
    alert_rule_test:
      - {eval_time: 20s, alertname: A, exp_alerts: [{exp_labels: {job: x, severity: ticket},
         exp_annotations: {summary: x is down, runbook_url: 'docs/runbooks.md#a'}}]}
"""
FAILING = "#!/bin/sh\necho 'FAILED:'\necho 'prose that differs by version' >&2\nexit 1\n"


def project(tmp_path: Path, prom3: str | None) -> Path:
    """tmp/proj with alert_rules/{r.yml,tests/r_test.yml} and maybe .bin/prom3/promtool."""
    rules = tmp_path / "proj" / "alert_rules"
    (rules / "tests").mkdir(parents=True)
    (rules / "r.yml").write_text(RULES)
    (rules / "tests" / "r_test.yml").write_text(TEST)
    if prom3 is not None:
        binary = tmp_path / "proj" / ".bin" / "prom3" / "promtool"
        binary.parent.mkdir(parents=True)
        binary.write_text(prom3)
        binary.chmod(0o755)
    return rules


def checks(report) -> list[str]:
    return [c.check for c in report.cases if c.check.startswith("promtool")]


def test_without_promtool_3_only_path_and_a_note(tmp_path: Path):
    report = check_paths([project(tmp_path, None)], scrape_seconds=1.0)
    assert checks(report) == ["promtool check rules", "promtool test rules"]
    assert any("promtool 3 not found" in n and "install-system.sh" in n for n in report.notes)
    assert report.findings == []


def test_each_version_is_its_own_case_judged_by_exit_code(tmp_path: Path):
    rules = project(tmp_path, FAILING)
    report = check_paths([rules], scrape_seconds=1.0)
    assert checks(report) == [
        "promtool check rules",
        "promtool 3 check rules",
        "promtool test rules",
        "promtool 3 test rules",
    ]
    failed = report.findings
    assert [f.check for f in failed] == ["promtool 3 check rules", "promtool 3 test rules"]
    assert str(failed[0]).startswith(f"{rules / 'r.yml'}: promtool 3 check rules failed: ")
    write_junit(tmp_path / "j.xml", report)
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert suite.get("failures") == "2"
    names = [c.get("name") for c in suite.iter("testcase")]
    assert "promtool 3 test rules" in names and "promtool test rules" in names


def test_the_real_promtool_3_passes_what_promtool_2_passes(tmp_path: Path):
    built = promtool3_path(Path(__file__))
    if built is None:
        pytest.fail("promtool 3 is not built: run scripts/install-system.sh")
    rules = project(tmp_path, None)
    target = tmp_path / "proj" / ".bin" / "prom3" / "promtool"
    target.parent.mkdir(parents=True)
    target.symlink_to(built)
    report = check_paths([rules / "r.yml"], scrape_seconds=1.0)
    assert "promtool 3 test rules" in checks(report)
    assert report.findings == []


def test_discovery_walks_up_from_the_rules(tmp_path: Path):
    rules = project(tmp_path, FAILING)
    assert (
        promtool3_path(rules / "tests" / "r_test.yml")
        == (tmp_path / "proj" / ".bin" / "prom3" / "promtool").resolve()
    )
    assert promtool3_path(tmp_path) is None


def test_promtool_3_on_path_is_not_run_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    rules = project(tmp_path, FAILING)
    monkeypatch.setenv("PATH", f"{tmp_path / 'proj' / '.bin' / 'prom3'}")
    found = promtools([rules])
    assert [p.label for p in found] == ["promtool"]
