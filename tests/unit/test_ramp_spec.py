"""Ramps (gradual chaos) in experiment files: errors at file:line, each step's experiment,
and the planner widening one target step by step without ever passing the blast radius."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InvalidInput, Refused
from harness.experiment.plan import plan_ramp
from harness.specs.experiment import Experiment
from harness.specs.topology import load_topology
from harness.specs.yamlload import parse_model

ROOT = Path(__file__).resolve().parents[2]
TOPO = load_topology(ROOT / "stack.yaml")
ALL_LIVE = {r.name: r.service for r in TOPO.replicas}

BASE = """\
version: harness/v1
name: ramp
hypothesis: the shop holds while orders replicas go away one by one
targets:
  some-orders: {service: orders, count: 1}
  one-catalog: {replicas: [catalog-1]}
faults:
  - type: pause
    target: some-orders
    duration: 10s
  - type: latency
    target: one-catalog
    latency_ms: 50
    duration: 10s
steady_state:
  - {name: up, query: up, op: ">=", threshold: 1}
blast_radius:
  max_duration: 30s
  allow_total_outage: true
ramp:
  target: some-orders
  steps:
    - {count: 1}
    - {count: 2, latency_ms: 200}
    - {count: 3, latency_ms: 400}
"""


def _parse(text: str) -> Experiment:
    return parse_model(text, "exp.yaml", Experiment)


def _errors(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as info:
        _parse(text)
    return [str(i) for i in info.value.issues]


def test_each_step_widens_its_target_and_sets_its_fault_settings():
    exp = _parse(BASE)
    assert exp.ramp is not None and exp.ramp.must_hold == 3
    second = exp.at_step(1)
    assert second.ramp is None
    assert (second.targets["some-orders"].count, second.targets["one-catalog"].replicas) == (
        2,
        ("catalog-1",),
    )
    pause, latency = second.faults
    assert pause.type == "pause" and latency.latency_ms == 200  # type: ignore[union-attr]
    assert exp.at_step(0).faults[1].latency_ms == 50  # type: ignore[union-attr]
    assert exp.faults[1].latency_ms == 50  # the file's experiment is left as it was


def test_a_percent_step_replaces_the_count():
    exp = _parse(BASE.replace("- {count: 2, latency_ms: 200}", "- {percent: 67}"))
    widened = exp.at_step(1).targets["some-orders"]
    assert (widened.count, widened.percent) == (None, 67)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "- {count: 2, latency_ms: 200}",
            "- {count: 2, lateny_ms: 200}",
            "exp.yaml:24: ramp.steps.1.lateny_ms: no fault of this experiment has a setting "
            "'lateny_ms'",
        ),
        (
            "latency_ms: 400}",
            "latency_ms: 0}",
            "exp.yaml:25: ramp.steps.2.latency_ms: latency: Input should be greater than or "
            "equal to 1",
        ),
        (
            "  target: some-orders\n  steps",
            "  target: one-catalog\n  steps",
            "exp.yaml:21: ramp.target: a ramp widens a service selector (service: ...)",
        ),
        (
            "  target: some-orders\n  steps",
            "  target: nobody\n  steps",
            "exp.yaml:21: ramp.target: unknown target 'nobody' (known: one-catalog, some-orders)",
        ),
        (
            "  target: some-orders\n  steps",
            "  steps",
            "exp.yaml:21: ramp.target: steps set count or percent: say of which target",
        ),
        (
            "- {count: 1}",
            "- {count: 1, percent: 50}",
            "exp.yaml:23: ramp.steps.0.percent: give count or percent, not both",
        ),
        (
            "- {count: 1}",
            "- {}",
            "exp.yaml:23: ramp.steps.0: a step sets count, percent or a fault setting",
        ),
        (
            "- {count: 1}",
            "- {count: 1, type: kill}",
            "exp.yaml:23: ramp.steps.0.type: no fault of this experiment has a setting 'type'",
        ),
        (
            "    - {count: 3, latency_ms: 400}",
            "    - {count: 3, latency_ms: 400, duration: 40s}",
            "exp.yaml:25: ramp.steps.2: its faults end at 40s, past "
            "blast_radius.max_duration=30s",
        ),
        (
            "  steps:",
            "  hold_through: 4\n  steps:",
            "exp.yaml:22: ramp.hold_through: hold_through 4 is past the last of 3 steps",
        ),
    ],
)
def test_a_wrong_ramp_is_an_error_at_its_line(old: str, new: str, expected: str):
    assert old in BASE, old
    assert expected in _errors(BASE.replace(old, new, 1))


def test_a_ramp_of_one_step_is_no_ramp():
    text = BASE.replace("    - {count: 2, latency_ms: 200}\n    - {count: 3, latency_ms: 400}\n", "")
    assert any("ramp.steps: Tuple should have at least 2 items" in e for e in _errors(text))


def test_wider_steps_keep_the_replicas_of_narrower_ones():
    exp = _parse(BASE)
    for seed in range(20):
        steps, limit = plan_ramp(exp, TOPO, ALL_LIVE, seed)
        assert limit == ""
        hit = [s.plan.faults[0].replicas for s in steps]
        assert [len(h) for h in hit] == [1, 2, 3]
        assert set(hit[0]) <= set(hit[1]) <= set(hit[2])
        # the other target does not move while the ramp widens this one
        assert {s.plan.faults[1].replicas for s in steps} == {("catalog-1",)}
        assert steps[1].description == "pause on 2 of 3 orders replicas, latency_ms=200"


def test_the_ramp_stops_at_the_blast_radius_and_never_passes_it():
    exp = _parse(BASE.replace("  allow_total_outage: true", "  max_targets: 3"))
    steps, limit = plan_ramp(exp, TOPO, ALL_LIVE, seed=1)
    assert [s.step for s in steps] == [1, 2]
    assert limit == (
        "step 3 (3 orders replicas, latency_ms=400) not run: blast radius: 4 targets "
        "(1 of catalog, 3 of orders) exceed max_targets=3; blast radius: every live orders "
        "replica would be hit; set allow_total_outage: true to allow a total outage"
    )


def test_a_first_step_past_the_blast_radius_refuses_the_run():
    exp = _parse(BASE.replace("  allow_total_outage: true", "  max_targets: 1"))
    with pytest.raises(Refused, match=r"ramp step 1 \(1 orders replica\): blast radius: 2 targets"):
        plan_ramp(exp, TOPO, ALL_LIVE, seed=1)
