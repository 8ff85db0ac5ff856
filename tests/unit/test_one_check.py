"""`validate --stack` and `run` share one check and one message: what the planner would
refuse on a healthy stack is reported by validate at its file:line, and the planner's own
refusal (what `run` journals) carries the same file:line and words."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InvalidInput, Refused
from harness.experiment.plan import plan_experiment, plan_ramp
from harness.specs.experiment import load_experiment
from harness.specs.topology import load_topology
from tests.unit.test_cli_usage import GOOD, ROOT, harness

STACK = ROOT / "stack.yaml"
TOPO = load_topology(STACK)
ALL_LIVE = {r.name: r.service for r in TOPO.replicas}


def _variant(tmp_path: Path, *edits: tuple[str, str], name: str = "exp.yaml") -> Path:
    text = GOOD.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text)
    return path


def _validate(path: Path) -> tuple[int, list[str]]:
    done = harness("validate", "--stack", str(STACK), str(path))
    return done.returncode, [line for line in done.stderr.splitlines() if str(path) in line]


def _refusal(path: Path, live: dict[str, str] = ALL_LIVE) -> str:
    with pytest.raises(Refused) as exc:
        plan_experiment(load_experiment(path), TOPO, live, seed=5, source=str(path))
    return str(exc.value)


def test_count_over_max_targets_is_reported_by_validate_as_run_refuses_it(tmp_path):
    path = _variant(tmp_path, ("    count: 1", "    count: 2"))
    expected = (
        f"{path}:12: targets.slow-orders.count: blast radius: 2 targets (2 of orders) "
        "exceed max_targets=1"
    )
    code, lines = _validate(path)
    assert code == 3
    assert expected in lines  # with max_percent's: 2 of 3 is more than 34%
    assert _refusal(path).splitlines() == lines  # one check, one message
    for seed in range(5):  # the words do not depend on which replicas a seed picks
        with pytest.raises(Refused, match="2 targets \\(2 of orders\\)"):
            plan_experiment(load_experiment(path), TOPO, ALL_LIVE, seed, str(path))


def test_a_certain_total_outage_is_reported_by_validate_as_run_refuses_it(tmp_path):
    path = _variant(
        tmp_path,
        ("    count: 1", "    count: 3"),
        ("  max_targets: 1\n  max_percent: 34\n", ""),
    )
    expected = (
        f"{path}:12: targets.slow-orders.count: blast radius: every live orders replica "
        "would be hit; set allow_total_outage: true to allow a total outage"
    )
    assert _validate(path) == (3, [expected])
    assert _refusal(path) == expected
    allowed = _variant(
        tmp_path,
        ("    count: 1", "    count: 3"),
        ("  max_targets: 1\n  max_percent: 34\n", "  allow_total_outage: true\n"),
        name="allowed.yaml",
    )
    assert _validate(allowed)[0] == 0


def test_an_unknown_service_is_one_located_message_in_both(tmp_path):
    path = _variant(tmp_path, ("    service: orders", "    service: payments"))
    expected = (
        f"{path}:11: targets.slow-orders.service: unknown service 'payments' "
        "(known: catalog, gateway, orders)"
    )
    assert _validate(path) == (3, [expected])
    with pytest.raises(InvalidInput) as exc:
        plan_experiment(load_experiment(path), TOPO, ALL_LIVE, seed=1, source=str(path))
    assert [str(i) for i in exc.value.issues] == [expected]


def test_a_replica_that_is_down_is_refused_at_its_selector(tmp_path):
    path = _variant(tmp_path, ("    service: orders\n    count: 1", "    replicas: [orders-2]"))
    live = {r: s for r, s in ALL_LIVE.items() if r != "orders-2"}
    assert _refusal(path, live) == (
        f"{path}:11: targets.slow-orders.replicas: replica orders-2 is not live; "
        "refusing to select it"
    )


def test_schema_errors_come_with_the_target_errors_that_can_be_computed(tmp_path):
    path = _variant(
        tmp_path,
        ("    service: orders", "    service: payments"),
        ("    latency_ms: 300", "    latency_ms: -5"),
    )
    code, lines = _validate(path)
    assert code == 3
    text = "\n".join(lines)
    assert f"{path}:11: targets.slow-orders.service: unknown service 'payments'" in text
    assert f"{path}:18: faults.0.latency_ms:" in text


def test_a_ramp_whose_first_step_is_refused_says_so_in_both(tmp_path):
    path = _variant(
        tmp_path,
        (
            "blast_radius:",
            "ramp:\n  target: slow-orders\n  steps: [{count: 2}, {count: 3}]\nblast_radius:",
        ),
    )
    expected = (
        f"{path}:12: targets.slow-orders.count: ramp step 1 (2 orders replicas): blast radius: "
        "2 targets (2 of orders) exceed max_targets=1"
    )
    code, lines = _validate(path)
    assert code == 3 and expected in lines
    with pytest.raises(Refused) as exc:
        plan_ramp(load_experiment(path), TOPO, ALL_LIVE, seed=1, source=str(path))
    assert str(exc.value).splitlines() == lines


def test_a_file_that_changed_since_it_was_loaded_still_names_the_field(tmp_path):
    path = _variant(tmp_path, ("    count: 1", "    count: 2"))
    exp = load_experiment(path)
    path.unlink()
    with pytest.raises(Refused) as exc:
        plan_experiment(exp, TOPO, ALL_LIVE, seed=1, source=str(path))
    assert f"{path}: targets.slow-orders.count: blast radius: 2 targets" in str(exc.value)
