"""The alert rules load, and their promtool unit tests pass."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "alert_rules").glob("*.yml"))
TESTS = sorted((ROOT / "alert_rules" / "tests").glob("*_test.yml"))

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool")


def test_rule_files_exist():
    assert RULES and TESTS


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.name)
def test_rules_check(path):
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", TESTS, ids=lambda p: p.name)
def test_promtool_rule_tests(path):
    result = subprocess.run(
        ["promtool", "test", "rules", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
