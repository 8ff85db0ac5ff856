"""The blast radius is counted against the replicas serving now (live and ready), not the
topology's count: a replica that is down makes each one hit a larger share."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import Refused
from harness.experiment.plan import plan_experiment
from harness.specs.experiment import Experiment
from harness.specs.topology import load_topology
from harness.specs.yamlload import parse_model

ROOT = Path(__file__).resolve().parents[2]
TOPO = load_topology(ROOT / "stack.yaml")
EXAMPLE = (ROOT / "experiments" / "orders-latency-one-replica.yaml").read_text()


def _one_of_orders(max_percent: int) -> Experiment:
    assert "max_percent: 34" in EXAMPLE and "    count: 1" in EXAMPLE
    text = EXAMPLE.replace("max_percent: 34", f"max_percent: {max_percent}")
    return parse_model(text, "exp.yaml", Experiment)


def test_one_of_three_serving_orders_replicas_is_a_third():
    everyone = {r.name: r.service for r in TOPO.replicas}
    plan = plan_experiment(_one_of_orders(34), TOPO, everyone, seed=1)
    assert len(plan.replicas) == 1


def test_with_one_orders_replica_down_one_hit_is_half_of_those_serving():
    serving = {r.name: r.service for r in TOPO.replicas if r.name != "orders-3"}
    with pytest.raises(Refused, match=r"1 of 2 orders replicas \(50%\) exceed max_percent=34"):
        plan_experiment(_one_of_orders(34), TOPO, serving, seed=1)
    plan = plan_experiment(_one_of_orders(50), TOPO, serving, seed=1)
    assert plan.replicas <= {"orders-1", "orders-2"}
