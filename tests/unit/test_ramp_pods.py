"""A ramp over pods: a pod an earlier step killed is replaced under a new name, so each
step is planned again against the pods serving when it starts (the pods planned in
preflight may be gone); a step the blast radius refuses now ends the ramp there."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from harness.experiment.plan import plan_ramp
from harness.experiment.ramp import _still_serving
from harness.specs.experiment import Experiment
from harness.specs.yamlload import parse_model
from tests.fakeruntime import FakeRuntime
from tests.unit.test_plan_pods import PODS, TOPO

RAMP = """\
version: harness/v1
name: ramp-pods
hypothesis: the shop survives
targets:
  hit: {service: orders, count: 1}
faults:
  - {type: kill, target: hit, duration: 2s}
steady_state:
  - {name: up, query: "vector(1)", op: ">=", threshold: 1}
ramp:
  target: hit
  steps: [{count: 1}, {count: 2}]
blast_radius: {max_percent: 67, max_duration: 20s}
"""
NEW = "shop/orders-7d9f-d4"  # the replacement's name: a pod the controller creates


class Journal:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def record(self, event: str, **fields: Any) -> None:
        self.events.append({"event": event, **fields})


def _ctx(runtime: FakeRuntime, exp: Experiment) -> Any:
    env = SimpleNamespace(runtime=runtime)
    return SimpleNamespace(env=env, topo=TOPO, exp=exp, seed=1, journal=Journal())


def _cluster() -> FakeRuntime:
    runtime = FakeRuntime({**PODS, NEW: "orders"})
    runtime.end(NEW)  # not created yet
    return runtime


def test_a_step_whose_pod_was_replaced_is_planned_against_the_pods_serving_now():
    exp = parse_model(RAMP, "exp.yaml", Experiment)
    steps, _ = plan_ramp(exp, TOPO, PODS, seed=1)
    runtime = _cluster()
    gone = sorted(steps[1].plan.replicas)[0]  # step 1 killed it; its replacement serves
    runtime.end(gone)
    runtime.make_ready(runtime.respawn_now("orders", NEW))
    ctx = _ctx(runtime, exp)

    again = _still_serving(ctx, steps[1])
    assert not isinstance(again, str)
    serving = {i.name for i in runtime.instances("orders")}
    assert len(again.plan.replicas) == 2 and again.plan.replicas <= serving
    assert again.step == 2 and again.description == steps[1].description
    (planned,) = ctx.journal.events  # what it hits now is journaled, as in preflight
    assert (planned["event"], planned["step"]) == ("planned", 2)
    assert set(planned["replicas"]) == again.plan.replicas
    assert planned["services"] == ["orders", "orders"]


def test_a_step_whose_pods_all_serve_runs_as_planned():
    exp = parse_model(RAMP, "exp.yaml", Experiment)
    steps, _ = plan_ramp(exp, TOPO, PODS, seed=1)
    ctx = _ctx(_cluster(), exp)
    assert _still_serving(ctx, steps[1]) is steps[1] and ctx.journal.events == []


def test_a_step_the_blast_radius_refuses_now_says_why():
    exp = parse_model(RAMP, "exp.yaml", Experiment)
    steps, _ = plan_ramp(exp, TOPO, PODS, seed=1)
    runtime = _cluster()
    runtime.end(sorted(steps[1].plan.replicas)[0])  # not replaced (yet): 2 orders pods serve
    why = _still_serving(_ctx(runtime, exp), steps[1])
    assert why == (
        "blast radius: 2 of 2 orders pods (100%) exceed max_percent=67; blast radius: every "
        "live orders pod would be hit; set allow_total_outage: true to allow a total outage"
    )
