"""The golden-signal alerts: their promtool unit tests pass on promtool 2 (PATH) and 3
(.bin/prom3, built by scripts/install-system.sh), every alert has a firing and a quiet
case, and the rule file keeps its conventions (severity, runbook, a reasoned `for:`,
recordings in their alert's group, nothing that depends on `le` text)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.alerts.tools import promtool3_path

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "alert_rules" / "golden_signals.yml"
TESTS = sorted((ROOT / "alert_rules" / "tests").glob("*_test.yml"))
RUNBOOKS = ROOT / "docs" / "runbooks.md"
INSTALL_HINT = "run scripts/install-system.sh (`make test` and `make install` do)"
KEPT = (
    "ShopHighErrorRatio",
    "ShopHighLatencyP99",
    "ReplicaDown",
    "CircuitBreakerOpen",
    "ComponentRestartLoop",
)  # experiments and docs name them


def promtool(version: str) -> Path:
    """The promtool of a major version; fails (never skips) when it is missing."""
    if version == "3":
        found = promtool3_path(ROOT)
        assert found is not None, f"promtool 3 is not built in {ROOT}/.bin/prom3: {INSTALL_HINT}"
        return found
    on_path = shutil.which("promtool")
    assert on_path is not None, f"promtool is not on PATH: {INSTALL_HINT}"
    return Path(on_path)


def groups() -> list[dict]:
    return yaml.safe_load(RULES.read_text())["groups"]


def alerts() -> list[dict]:
    return [r for g in groups() for r in g["rules"] if "alert" in r]


def cases() -> list[dict]:
    """Every alert_rule_test entry of the test files that load golden_signals.yml."""
    found = []
    for path in TESTS:
        doc = yaml.safe_load(path.read_text())
        if not any(Path(f).name == RULES.name for f in doc.get("rule_files", [])):
            continue
        found += [c for t in doc["tests"] for c in t.get("alert_rule_test") or []]
    return found


@pytest.mark.parametrize("version", ["2", "3"])
def test_promtool_runs_every_unit_test(version: str):
    binary = promtool(version)
    for path in TESTS:
        done = subprocess.run(
            [str(binary), "test", "rules", str(path)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{binary} test rules {path}:\n{done.stdout}{done.stderr}"


@pytest.mark.parametrize("version", ["2", "3"])
def test_promtool_checks_the_rules(version: str):
    done = subprocess.run(
        [str(promtool(version)), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_3_is_really_version_3():
    done = subprocess.run([str(promtool("3")), "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert re.search(r"version 3\.", done.stdout), f"not a promtool 3: {done.stdout}"


def test_every_alert_has_a_firing_and_a_quiet_case():
    by_name: dict[str, list[dict]] = {}
    for case in cases():
        by_name.setdefault(case["alertname"], []).append(case)
    for alert in alerts():
        name = alert["alert"]
        mine = by_name.get(name, [])
        assert any(c.get("exp_alerts") for c in mine), f"{name}: no test where it fires"
        assert any(not c.get("exp_alerts") for c in mine), f"{name}: no test where it is quiet"


def test_kept_names_and_metadata():
    names = [a["alert"] for a in alerts()]
    assert set(KEPT) <= set(names)
    assert len(names) == len(set(names))
    anchors = {m.group(1).lower() for m in re.finditer(r"^## (\w+)$", RUNBOOKS.read_text(), re.M)}
    for alert in alerts():
        name, labels, notes = alert["alert"], alert["labels"], alert["annotations"]
        assert labels["severity"] in ("page", "ticket"), name
        assert notes["summary"] and notes["description"], name
        assert notes["runbook_url"] == f"docs/runbooks.md#{name.lower()}", name
        assert name.lower() in anchors, f"{name}: no section `## {name}` in {RUNBOOKS.name}"


def test_pages_are_gateway_symptoms():
    for alert in alerts():
        if alert["labels"]["severity"] == "page":
            assert 'service="gateway"' in alert["expr"], alert["alert"]


def test_every_for_has_its_reason_in_a_comment():
    lines = RULES.read_text().splitlines()
    fors = [i for i, line in enumerate(lines) if re.match(r"\s+for: ", line)]
    assert len(fors) == len(alerts()), "every alert states its `for:`"
    for i in fors:
        above = lines[i - 1].strip()
        assert above.startswith("#") or "#" in lines[i], f"line {i + 1}: `for:` without a reason"


def test_recordings_sit_in_the_group_of_the_alerts_reading_them():
    home = {r["record"]: g["name"] for g in groups() for r in g["rules"] if "record" in r}
    for group in groups():
        for rule in group["rules"]:
            for name in re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", rule["expr"]):
                if name in home:
                    assert home[name] == group["name"], f"{name} read from {group['name']}"


def test_nothing_matches_le_text():
    # Prometheus 3 writes le="1" as "1.0": a literal `le` matcher breaks on one version
    for group in groups():
        for rule in group["rules"]:
            assert not re.search(r"\ble\s*(=|!=|=~|!~)\s*\"", rule["expr"]), rule
