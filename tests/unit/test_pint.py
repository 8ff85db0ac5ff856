"""pint, Cloudflare's rule linter, as `harness alerts check`'s optional second opinion:
found on PATH or in the rules' project's `.bin/pint`, run with its `.pint.hcl`, judged by
exit code only.

The tests that run the real pint are skipped when `.bin/pint` is not built (`make pint`
builds it): pint is optional, unlike promtool 3, and this is the one skip we allow.
Without pint, `harness alerts check` must still pass and say how to get it; that test
always runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.alerts import check_paths
from harness.alerts.tools import PINT_CONFIG, find_pint, pint_lint

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / ".bin" / "pint"
SHIPPED = [
    ROOT / "alert_rules" / "golden_signals.yml",
    ROOT / "alert_rules" / "slo" / "slo-shop.yml",
]

needs_pint = pytest.mark.skipif(
    not os.access(BUILT, os.X_OK), reason="pint is not built (optional): `make pint` builds it"
)

RULE = """\
groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        for: 1m
"""


def alert(*, severity: str = "ticket", runbook: bool = True, sloth: bool = False) -> str:
    """One alert with severity and summary, and runbook_url and Sloth's label as asked."""
    labels = [f"severity: {severity}", *(["sloth_severity: ticket"] if sloth else [])]
    annotations = [
        "summary: a job is down",
        *(["runbook_url: docs/runbooks.md#a"] if runbook else []),
    ]
    return (
        RULE
        + "        labels:\n"
        + "".join(f"          {line}\n" for line in labels)
        + "        annotations:\n"
        + "".join(f"          {line}\n" for line in annotations)
    )


def project(tmp_path: Path, rules: dict[str, str]) -> Path:
    """tmp/proj with our .pint.hcl, .bin/pint (the built one) and the rule files given."""
    root = tmp_path / "proj"
    for name, text in rules.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    shutil.copy(ROOT / PINT_CONFIG, root / PINT_CONFIG)
    (root / ".bin").mkdir()
    (root / ".bin" / "pint").symlink_to(BUILT)
    return root


@needs_pint
def test_the_shipped_rules_pass():
    verdict = pint_lint(SHIPPED)
    assert verdict is not None and verdict.ok, verdict


@needs_pint
def test_a_missing_runbook_url_fails_by_exit_code(tmp_path: Path):
    root = project(
        tmp_path, {"alert_rules/ok.yml": alert(), "alert_rules/bad.yml": alert(runbook=False)}
    )
    ok = pint_lint([root / "alert_rules" / "ok.yml"])
    bad = pint_lint([root / "alert_rules" / "bad.yml"])
    assert ok is not None and ok.ok, ok
    assert bad is not None and not bad.ok
    assert bad.detail  # pint's first lines, for people


@needs_pint
def test_severity_must_be_page_or_ticket(tmp_path: Path):
    root = project(tmp_path, {"alert_rules/r.yml": alert(severity="critical")})
    verdict = pint_lint([root / "alert_rules" / "r.yml"])
    assert verdict is not None and not verdict.ok


@needs_pint
def test_generated_slo_rules_need_no_runbook(tmp_path: Path):
    sloth = alert(runbook=False, sloth=True)
    root = project(
        tmp_path,
        {"alert_rules/slo/slo-x.yml": alert(runbook=False), "elsewhere/slo-y.yml": sloth},
    )
    files = [root / "alert_rules" / "slo" / "slo-x.yml", root / "elsewhere" / "slo-y.yml"]
    verdict = pint_lint(files)
    assert verdict is not None and verdict.ok, verdict


@needs_pint
def test_found_in_the_rules_project_with_its_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root = project(tmp_path, {"alert_rules/r.yml": alert()}).resolve()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # PATH comes first: keep pint off it
    found = find_pint([root / "alert_rules" / "r.yml"])
    assert found is not None
    assert found.path == root / ".bin" / "pint"
    assert found.config == root / PINT_CONFIG


@needs_pint
def test_harness_alerts_check_reports_the_pint_case(tmp_path: Path):
    junit = tmp_path / "alerts.xml"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "alerts", "check", "alert_rules", "alert_rules/slo"]
        + ["--junit", str(junit)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"note: pint lint: {BUILT} with {ROOT / PINT_CONFIG}" in done.stdout
    suite = ET.parse(junit).getroot()
    cases = [c for c in suite.iter("testcase") if c.get("name") == "pint lint"]
    assert len(cases) == 1 and cases[0].find("failure") is None
    assert (
        cases[0].get("classname") == "alert_rules/golden_signals.yml, alert_rules/slo/slo-shop.yml"
    )


def test_without_pint_the_shipped_rules_pass_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not on PATH: run scripts/install-system.sh")
    rules = tmp_path / "proj" / "alert_rules"  # a copy: this checkout may have .bin/pint
    shutil.copytree(ROOT / "alert_rules", rules)
    (tmp_path / "path").mkdir()
    (tmp_path / "path" / "promtool").symlink_to(promtool)
    monkeypatch.setenv("PATH", str(tmp_path / "path"))  # promtool, and no pint
    report = check_paths([rules, rules / "slo"], scrape_seconds=1.0)  # stack.yaml's
    assert report.findings == []
    assert "pint lint" not in [c.check for c in report.cases]
    assert any("pint not installed" in n and "`make pint`" in n for n in report.notes)
    assert pint_lint([rules / "golden_signals.yml"]) is None
