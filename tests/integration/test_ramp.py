"""Gradual chaos on the real stack: a latency ramp on the catalog's links finds the breaking
point it was built to have (users' p99 under 0.5 s holds at 50 and 150 ms and cannot at
600 ms), each step judged by the latency SLO too; a ramp whose harness is killed in its
second step is undone by the watchdog like any run. (A break the hypothesis claims holds,
which deviates, is judged by the same engine in tests/unit/test_ramp_engine.py.)"""

from __future__ import annotations

from pathlib import Path

from harness.safety.journal import read_events
from tests.integration.runs import (
    assert_clean,
    events,
    experiment,
    kill_and_await_watchdog,
    run,
    start_run,
)
from tests.integration.stackfixture import Stack, harness
from tests.waiting import wait_for

TARGETS = """
catalogs: {service: catalog}
"""
# latency on each catalog replica's ingress link: every product read pays it
FAULTS = """
- {type: latency, target: catalogs, latency_ms: 50, duration: %s}
"""
LOAD = """
load:
  rate: 20
  routes:
    - {method: GET, path: /products, weight: 1}
  target: {service: gateway}
"""
# what the load's users saw over the last 3 s: no scrape to wait for
USERS_P99 = """
  during:
    - {name: users-p99, metric: p99_seconds, window: 3s, op: "<", threshold: 0.5}
"""
RAMP = """
ramp:
  steps:
    - {latency_ms: 50}
    - {latency_ms: 150}
    - {latency_ms: 600}
  hold_through: %d
  slos: [requests-latency]
"""


def _ramp(tmp: Path, name: str, hold_through: int, duration: str = "6s") -> Path:
    path = experiment(
        tmp,
        name,
        TARGETS,
        FAULTS % duration,
        expectations=USERS_P99,
        blast="max_duration: 30s\n  allow_total_outage: true",
        load=LOAD,
    )
    path.write_text(path.read_text() + RAMP % hold_through)
    return path


def test_a_latency_ramp_finds_its_known_breaking_point(stack: Stack, tmp_path: Path):
    result, journal = run(stack, _ramp(tmp_path, "ramp-latency", hold_through=2), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal["verdict"] == "held"
    assert (
        "ramp: holds at step 2 (latency_ms=150); breaks at step 3 (latency_ms=600)"
        in result.stdout
    )
    ends = events(journal, "ramp.step_end")
    assert [e["status"] for e in ends] == ["held", "held", "broke"]
    assert any(r.startswith("expectation users-p99 did not hold") for r in ends[2]["reasons"])
    # the latency SLO (99% within 0.5 s) is met by the steps that held, broken by the last
    slo = [e["slos"][0] for e in ends]
    assert [s["slo"] for s in slo] == ["requests-latency"] * 3
    assert slo[0]["error_ratio"] <= 0.01 and slo[1]["error_ratio"] <= 0.01, slo
    assert slo[2]["error_ratio"] > 0.5, slo[2]
    assert any(r.startswith("SLO requests-latency: SLI") for r in ends[2]["reasons"])
    # two links a step, each toxic on and off, under names of the step's own
    applying = events(journal, "fault.applying")
    assert [e["action"]["attributes"]["latency"] for e in applying] == [50] * 2 + [150] * 2 + [
        600
    ] * 2
    assert len({e["action"]["name"] for e in applying}) == 3  # one name a step, on each link
    assert len(events(journal, "fault.removed")) == 6
    (point,) = events(journal, "ramp.breaking_point")
    assert point["step"] == 3 and 12 < point["seconds_to_break"] < 60
    assert_clean(stack)


def test_a_ramp_killed_in_its_second_step_is_undone_by_the_watchdog(
    stack: Stack, tmp_path: Path
):
    path = _ramp(tmp_path, "ramp-crash", hold_through=2, duration="20s")
    proc, journal_path = start_run(stack, path, tmp_path)

    def second_step_on() -> bool:
        seen = read_events(journal_path)
        steps = [i for i, e in enumerate(seen) if e["event"] == "ramp.step" and e["step"] == 2]
        return bool(steps) and any(e["event"] == "fault.applied" for e in seen[steps[0] :])

    wait_for(second_step_on, 60, "the second step's fault to be applied")
    assert kill_and_await_watchdog(stack, proc, "the watchdog to remove the step's toxics") < 15
    seen = read_events(journal_path)
    by_watchdog = [e["fault_id"] for e in seen if e["event"] == "fault.removed" and e["by"] == "watchdog"]
    assert len(by_watchdog) == 2 and all("-s2/" in f for f in by_watchdog), by_watchdog
    assert not [e for e in seen if e["event"] == "verdict"]
    assert_clean(stack)
    recovered = harness("recover", "--stack", str(stack.stack_file), "--stack-dir", str(stack.run_dir))
    assert "nothing to recover" in recovered.stdout
