"""`harness gate` against a real Prometheus holding real (backfilled) data: the verdicts
pass, warn, fail, inconclusive for no data and for too little traffic, and a regression
against a baseline — a previous result and the same range a week earlier."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.backfill import Traffic, backfilled_prometheus

ROOT = Path(__file__).resolve().parents[2]
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
SLO = str(ROOT / "slo" / "shop.yaml")


def gate(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "gate", SLO, "--prometheus", url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def result_of(path: Path) -> dict:
    return json.loads(path.read_text())


def test_verdicts_on_known_traffic(tmp_path: Path) -> None:
    now = time.time()
    traffic = [
        # 09:00-10:00 ago: healthy; 05:00-06:00 ago: 5% errors; 02:00-03:00 ago: a trickle
        Traffic(now - 10 * HOUR, now - 9 * HOUR, rps=10),
        Traffic(now - 6 * HOUR, now - 5 * HOUR, rps=10, error_ratio=0.05),
        Traffic(now - 3 * HOUR, now - 2 * HOUR, rps=0.01),
    ]
    with backfilled_prometheus(tmp_path, traffic) as url:

        def over(first: float, last: float, *extra: str) -> subprocess.CompletedProcess[str]:
            return gate(url, "--start", str(now - first), "--end", str(now - last), *extra)

        healthy = over(9.9 * HOUR, 9.1 * HOUR, "--json", str(tmp_path / "healthy.json"))
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        data = result_of(tmp_path / "healthy.json")
        assert data["verdict"] == "pass" and data["score"] == 100.0
        sli = data["objectives"][0]
        assert sli["name"] == "requests-availability-sli" and sli["value"] == 1.0
        assert "[2880s]" in sli["query"]  # 48 minutes, evaluated at the range's end

        broken = over(5.9 * HOUR, 5.1 * HOUR, "--junit", str(tmp_path / "g.xml"))
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert "key objective failed: requests-availability-sli" in broken.stdout
        assert "value 0.95" in broken.stdout
        assert "<failure" in (tmp_path / "g.xml").read_text()

        quiet = over(8 * HOUR, 7 * HOUR, "--markdown", str(tmp_path / "g.md"))
        assert quiet.returncode == 3, quiet.stdout + quiet.stderr
        assert "too little traffic: no requests in the range (needs 100)" in quiet.stdout
        assert "no data is never a pass" in quiet.stderr
        assert "❔ INCONCLUSIVE" in (tmp_path / "g.md").read_text()

        trickle = over(2.9 * HOUR, 2.1 * HOUR)
        assert trickle.returncode == 3, trickle.stdout + trickle.stderr
        assert "too little traffic: 29 requests in the range (needs 100)" in trickle.stdout

        # the error ratio between a warning (1%) and a pass (0.1%) only warns
        warn_file = tmp_path / "warn.yaml"
        warn_file.write_text(
            "version: harness/v1\nkind: gate\nsettings: {pass: 90, warn: 40}\nobjectives:\n"
            "  - {name: ratio, indicator: error_ratio, slo: requests-availability,\n"
            '     pass: [{op: "<", threshold: 0.001}], warn: [{op: "<", threshold: 0.1}]}\n'
        )
        warned = over(5.9 * HOUR, 5.1 * HOUR, "--gate", str(warn_file))
        assert warned.returncode == 0, warned.stdout + warned.stderr
        assert "verdict: warn" in warned.stdout
        strict = over(5.9 * HOUR, 5.1 * HOUR, "--gate", str(warn_file), "--strict")
        assert strict.returncode == 2, strict.stdout + strict.stderr


RELATIVE = """version: harness/v1
kind: gate
objectives:
  - {name: errors, indicator: error_ratio, slo: requests-availability,
     pass: [{op: "<=", relative: "+0.001"}]}
  - {name: slow, indicator: error_ratio, slo: requests-latency,
     pass: [{op: "<=", relative: "+10%"}]}
"""


def test_a_regression_against_last_week_and_against_a_previous_result(tmp_path: Path) -> None:
    now = time.time()
    traffic = [
        Traffic(now - 7 * DAY - HOUR, now - 7 * DAY, rps=10, error_ratio=0.001, slow_ratio=0.02),
        Traffic(now - HOUR, now - MINUTE, rps=10, error_ratio=0.02, slow_ratio=0.02),
    ]
    spec = tmp_path / "relative.yaml"
    spec.write_text(RELATIVE)
    with backfilled_prometheus(tmp_path, traffic) as url:
        start, end = str(now - 50 * MINUTE), str(now - 2 * MINUTE)
        week = gate(
            url,
            "--gate",
            str(spec),
            "--start",
            start,
            "--end",
            end,
            "--compare-to",
            "1w",
            "--json",
            str(tmp_path / "now.json"),
        )
        assert week.returncode == 1, week.stdout + week.stderr
        data = result_of(tmp_path / "now.json")
        errors, slow = data["objectives"]
        assert errors["status"] == "fail" and abs(errors["baseline"] - 0.001) < 1e-4
        assert slow["status"] == "pass" and abs(slow["baseline"] - 0.02) < 1e-3
        assert data["baseline"] == "the same range 1w earlier"

        # last week's result as a file: the same regression
        old = gate(
            url,
            "--gate",
            str(spec),
            "--start",
            str(now - 7 * DAY - 50 * MINUTE),
            "--end",
            str(now - 7 * DAY - 2 * MINUTE),
            "--compare-to",
            "1d",
            "--json",
            str(tmp_path / "old.json"),
        )
        assert old.returncode == 3, old.stdout + old.stderr  # a day before it: no data
        previous = result_of(tmp_path / "old.json")
        previous["objectives"][0]["value"] = 0.001
        previous["objectives"][1]["value"] = 0.02
        (tmp_path / "old.json").write_text(json.dumps(previous))
        again = gate(
            url,
            "--gate",
            str(spec),
            "--start",
            start,
            "--end",
            end,
            "--baseline",
            str(tmp_path / "old.json"),
        )
        assert again.returncode == 1, again.stdout + again.stderr
        assert "errors: fail" in again.stdout
