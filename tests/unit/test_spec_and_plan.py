"""Experiment files: exact error messages for bad ones; target resolution; blast radius."""

from pathlib import Path

import pytest

from harness.errors import InvalidInput, Refused
from harness.plan import plan_experiment
from harness.spec import Experiment, load_experiment
from harness.topology import load_topology
from harness.yamlload import parse_model

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "experiments" / "orders-latency-one-replica.yaml"
TOPO = load_topology(ROOT / "stack.yaml")
ALL_LIVE = [r.name for r in TOPO.replicas]


def _parse(text: str) -> Experiment:
    return parse_model(text, "exp.yaml", Experiment)


def _edit(old: str, new: str) -> str:
    text = EXAMPLE.read_text()
    assert old in text, old
    return text.replace(old, new, 1)


def test_every_shipped_experiment_is_valid():
    files = sorted((ROOT / "experiments").glob("*.yaml"))
    assert files
    for path in files:
        load_experiment(path)


BAD = [
    (
        "latency_ms: 300",
        "latency_ms: -5",
        ["exp.yaml:18: faults.0.latency_ms: Input should be greater than or equal to 1"],
    ),
    (
        "type: latency",
        "type: earthquake",
        [
            "exp.yaml:15: faults.0: Input tag 'earthquake' found using 'type' does not match any of the expected tags: 'latency', 'blackhole', 'refused', 'bandwidth', 'reset_peer', 'slow_close', 'slicer', 'limit_data', 'kill', 'terminate', 'pause'"
        ],
    ),
    (
        "target: slow-orders",
        "target: nobody",
        ["exp.yaml:16: faults.0.target: unknown target 'nobody' (known: slow-orders)"],
    ),
    (
        "duration: 30s",
        "duration: thirty",
        [
            "exp.yaml:20: faults.0.duration: 'thirty' is not a duration: use forms like 500ms, 30s, 2m or 1m30s"
        ],
    ),
    (
        'op: ">="',
        'op: "=>"',
        ["exp.yaml:34: steady_state.0.op: Input should be '<', '<=', '>', '>=', '==' or '!='"],
    ),
    (
        "    count: 1",
        "    count: 1\n    replicas: [orders-1]",
        ["exp.yaml:11: targets.slow-orders: give exactly one of service, replicas or links"],
    ),
    (
        "version: harness/v1",
        "version: harness/v2",
        ["exp.yaml:1: version: Input should be 'harness/v1'"],
    ),
    (
        "  rate: 20",
        "  rate: 0\n  burst: 3",
        [
            "exp.yaml:23: load.rate: Input should be greater than 0",
            "exp.yaml:24: load.burst: Extra inputs are not permitted",
        ],
    ),
]


@pytest.mark.parametrize(("old", "new", "messages"), BAD)
def test_malformed_files_get_every_error_with_file_line_field(old, new, messages):
    with pytest.raises(InvalidInput) as exc:
        _parse(_edit(old, new))
    assert [str(i) for i in exc.value.issues] == messages


def test_missing_blast_radius_is_reported_at_the_top():
    text = EXAMPLE.read_text().split("blast_radius:")[0]
    with pytest.raises(InvalidInput) as exc:
        _parse(text)
    assert [str(i) for i in exc.value.issues] == ["exp.yaml:1: blast_radius: Field required"]


def test_count_selects_that_many_live_replicas_and_resolves_ingress_links():
    plan = plan_experiment(load_experiment(EXAMPLE), TOPO, ALL_LIVE, seed=7)
    (fault,) = plan.faults
    assert len(fault.replicas) == 1 and fault.replicas[0].startswith("orders-")
    assert [link.name for link in fault.links] == [f"gateway_{fault.replicas[0]}"]


def test_selection_only_picks_live_replicas():
    live = [r for r in ALL_LIVE if r != "orders-1"]
    for seed in range(20):
        plan = plan_experiment(load_experiment(EXAMPLE), TOPO, live, seed=seed)
        assert plan.faults[0].replicas != ("orders-1",)


def test_over_the_count_limit_is_refused_and_names_the_limit():
    exp = _parse(_edit("    count: 1", "    count: 2"))
    with pytest.raises(Refused, match="exceed max_targets=1"):
        plan_experiment(exp, TOPO, ALL_LIVE, seed=1)


def test_over_the_percent_limit_is_refused():
    exp = _parse(_edit("max_targets: 1", "max_targets: 3").replace("count: 1", "count: 2"))
    with pytest.raises(Refused, match=r"2 of 3 orders replicas \(67%\) exceed max_percent=34"):
        plan_experiment(exp, TOPO, ALL_LIVE, seed=1)


def test_every_replica_needs_allow_total_outage():
    text = _edit("    count: 1", "    percent: 100").replace("max_targets: 1", "max_targets: 3")
    text = text.replace("max_percent: 34", "max_percent: 100")
    with pytest.raises(Refused, match="allow_total_outage: true"):
        plan_experiment(_parse(text), TOPO, ALL_LIVE, seed=1)
    allowed = _parse(
        text.replace("max_duration: 60s", "max_duration: 60s\n  allow_total_outage: true")
    )
    plan = plan_experiment(allowed, TOPO, ALL_LIVE, seed=1)
    assert set(plan.replicas) == {"orders-1", "orders-2", "orders-3"}


def test_a_dead_replica_counts_against_total_outage():
    text = _edit("    count: 1", "    count: 2").replace("max_targets: 1", "max_targets: 2")
    text = text.replace("max_percent: 34", "max_percent: 100")
    with pytest.raises(Refused, match="every live orders replica"):
        plan_experiment(_parse(text), TOPO, ["orders-1", "orders-2"], seed=1)


def test_fault_longer_than_max_duration_is_refused():
    exp = _parse(_edit("duration: 30s", "duration: 90s"))
    with pytest.raises(Refused, match="past max_duration=60s"):
        plan_experiment(exp, TOPO, ALL_LIVE, seed=1)


def test_database_hop_resolves_to_the_replicas_db_links():
    exp = _parse(
        _edit("    count: 1", "    replicas: [orders-2]\n    hop: database").replace(
            "    service: orders\n", ""
        )
    )
    plan = plan_experiment(exp, TOPO, ALL_LIVE, seed=1)
    assert [link.name for link in plan.faults[0].links] == ["orders-2_postgres"]
    assert plan.faults[0].replicas == ("orders-2",)
