"""Every network fault type applied and reverted on the real Toxiproxy, from its journal form."""

from __future__ import annotations

import pytest
import yaml

from harness.clients.toxiproxy import ToxiproxyClient
from harness.experiment.plan import plan_experiment
from harness.faults import FaultEnv, action_from_json, actions_for
from harness.runtime.local.runtime import LocalRuntime
from harness.specs.experiment import Experiment
from tests.integration.stackfixture import Stack

FAULTS = {
    "latency": ({"latency_ms": 120, "jitter_ms": 10}, "latency", {"latency": 120, "jitter": 10}),
    "blackhole": ({}, "timeout", {"timeout": 0}),
    "bandwidth": ({"rate_kb_per_s": 64}, "bandwidth", {"rate": 64}),
    "reset_peer": ({"timeout_ms": 100}, "reset_peer", {"timeout": 100}),
    "slow_close": ({"delay_ms": 300}, "slow_close", {"delay": 300}),
    "slicer": (
        {"average_size": 64, "size_variation": 8, "delay_us": 50},
        "slicer",
        {"average_size": 64, "size_variation": 8, "delay": 50},
    ),
    "limit_data": ({"bytes": 4096}, "limit_data", {"bytes": 4096}),
}


def _experiment(fault: dict) -> Experiment:
    return Experiment.model_validate(
        yaml.safe_load(f"""
version: harness/v1
name: drivers
hypothesis: drivers work
targets:
  one: {{replicas: [catalog-1]}}
faults: [{yaml.safe_dump(fault, default_flow_style=True).strip()}]
steady_state: [{{name: x, query: "vector(1)", op: "==", threshold: 1}}]
blast_radius: {{max_duration: 60s}}
""")
    )


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_toxic_round_trip(stack: Stack, toxiproxy: ToxiproxyClient, kind: str):
    params, toxic_type, attributes = FAULTS[kind]
    fault = {
        "type": kind,
        "target": "one",
        "duration": "5s",
        "direction": "both",
        "toxicity": 0.5,
        **params,
    }
    plan = plan_experiment(
        _experiment(fault), stack.topo, {r.name: r.service for r in stack.topo.replicas}, 1
    )
    env = FaultEnv(toxiproxy=toxiproxy, runtime=LocalRuntime(stack.topo, stack.run_dir))
    actions = [action_from_json(a.to_json()) for a in actions_for(plan.faults[0], env, "t1")]
    assert len(actions) == 2  # both directions
    for action in actions:
        action.apply(env)
    toxics = {t.stream: t for t in toxiproxy.toxics("gateway_catalog-1")}
    assert set(toxics) == {"upstream", "downstream"}
    for toxic in toxics.values():
        assert toxic.type == toxic_type and toxic.toxicity == 0.5
        assert {k: toxic.attributes[k] for k in attributes} == attributes
    for action in actions:
        action.revert(env)
        action.revert(env)  # reverting twice is harmless (recover after a partial rollback)
    assert toxiproxy.toxics("gateway_catalog-1") == []


def test_refused_disables_and_reenables(stack: Stack, toxiproxy: ToxiproxyClient):
    fault = {"type": "refused", "target": "one", "duration": "5s"}
    plan = plan_experiment(
        _experiment(fault), stack.topo, {r.name: r.service for r in stack.topo.replicas}, 1
    )
    env = FaultEnv(toxiproxy=toxiproxy, runtime=LocalRuntime(stack.topo, stack.run_dir))
    (action,) = actions_for(plan.faults[0], env, "t2")
    action.apply(env)
    assert toxiproxy.proxy("gateway_catalog-1").enabled is False
    action.revert(env)
    assert toxiproxy.proxy("gateway_catalog-1").enabled is True
