"""Schedule files: validation with file:line errors, paths relative to the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InvalidInput
from harness.schedule.spec import load_schedule, parse_hours

GOOD = """\
version: harness/v1
kind: schedule
name: office-hours
suite: [experiments/one.yaml]
cron: "*/15 9-17 * * mon-fri"
timezone: Europe/Berlin
allowed: {days: [mon, tue, wed, thu, fri], hours: "09:00-17:00"}
skip_when:
  alerts_firing: {severity: page}
  budget_below: {slo: requests-availability, remaining: 0.25}
  previous_unclean: true
runs_dir: runs
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schedule.yaml"
    path.write_text(text)
    return path


def issues(path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        load_schedule(path)
    return [str(i) for i in caught.value.issues]


def test_a_good_file_loads_with_paths_relative_to_it(tmp_path):
    spec = load_schedule(write(tmp_path, GOOD))
    assert spec.suite == (str(tmp_path / "experiments/one.yaml"),)
    assert spec.runs_dir == str(tmp_path / "runs")
    assert spec.stack == str(tmp_path / "stack.yaml")
    assert spec.skip_when.alert_match().wanted() == {"severity": "page"}
    assert spec.window().start == 9 * 60 and spec.window().end == 17 * 60


def test_alerts_firing_true_means_any_alert(tmp_path):
    text = GOOD.replace("alerts_firing: {severity: page}", "alerts_firing: true")
    assert load_schedule(write(tmp_path, text)).skip_when.alert_match().wanted() == {}


def test_every_error_names_file_line_and_field(tmp_path):
    text = (
        GOOD.replace("Europe/Berlin", "Mars/Olympus")
        .replace('"*/15 9-17 * * mon-fri"', '"0 0 L * *"')
        .replace("thu, fri]", "thu, fry]")
        .replace("remaining: 0.25", "remaining: 25")
    )
    path = write(tmp_path, text)
    found = issues(path)
    assert f"{path}:5: cron: '0 0 L * *': 'L' is not plain cron (no L, W, #, ?)" in found
    assert any(f.startswith(f"{path}:6: timezone:") and "Mars/Olympus" in f for f in found)
    assert any(f.startswith(f"{path}:7: allowed.days.4:") for f in found)
    assert any(f.startswith(f"{path}:10: skip_when.budget_below.remaining:") for f in found)


def test_a_schedule_that_never_runs_is_refused(tmp_path):
    path = write(tmp_path, GOOD.replace('"*/15 9-17 * * mon-fri"', '"0 3 * * *"'))
    (only,) = issues(path)
    assert only.startswith(f"{path}:7: allowed: the schedule never runs")


def test_unknown_keys_and_wrong_kind(tmp_path):
    path = write(tmp_path, GOOD.replace("kind: schedule", "kind: gate") + "every: 5m\n")
    found = issues(path)
    assert any(f.startswith(f"{path}:2: kind:") for f in found)
    assert any(f.startswith(f"{path}:13: every:") for f in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("09:00-17:00", (540, 1020)), ("22:00-06:00", (1320, 360)), ("00:00-24:00", (0, 1440))],
)
def test_parse_hours(text, expected):
    assert parse_hours(text) == expected


@pytest.mark.parametrize("text", ["9-17", "09:00-09:00", "25:00-26:00", "09:60-10:00"])
def test_bad_hours(text):
    with pytest.raises(ValueError):
        parse_hours(text)
