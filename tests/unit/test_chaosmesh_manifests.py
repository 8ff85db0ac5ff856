"""Chaos Mesh objects for the harness's faults: each field as Chaos Mesh's v1alpha1 schema
has it, exactly the planned pods, the run's labels, a duration of window plus margin;
the ChaosObject action as plain journaled data; which faults become objects at all.
(The real CRD schema checks them too: tests/k8s/test_chaosmesh.py.)"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import TypeAdapter

from harness.errors import HarnessError, Refused
from harness.faults import FaultSpec, action_from_json
from harness.faults.base import FaultEnv, killed_by
from harness.faults.chaos import ChaosObject
from harness.faults.process import Signal
from harness.runtime.base import Instance
from harness.runtime.kubernetes.chaosmanifests import (
    CHAOS_MESH_FAULTS,
    Target,
    go_duration,
    network_bandwidth,
    network_delay,
    network_partition,
    object_name,
    pod_failure,
    pod_kill,
    refusal,
    run_of,
    stress_cpu,
)
from harness.runtime.kubernetes.chaosmesh import ChaosMesh, chaos_actions
from harness.runtime.kubernetes.labels import LABEL_RUN, LABEL_RUN_SCOPE, MANAGED_BY
from harness.specs.kubernetes import ChaosMeshSpec, KubernetesSpec
from tests.fakeruntime import FakePlanned, FakeRuntime
from tests.unit.fakechaosmesh import FakeChaosMesh

RUN = "20261207T203000-ab12"
TARGET = Target(
    name="harness-x-f0-0",
    namespace="shop",
    pods={"shop": ("web-a", "web-b")},
    labels={LABEL_RUN: RUN},
    seconds=40.2,
)
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _fault(**data: Any):
    return TypeAdapter(FaultSpec).validate_python({"target": "web", "duration": 10, **data})


# -- manifests --------------------------------------------------------------------------


def test_every_object_selects_exactly_the_planned_pods_for_a_bounded_time() -> None:
    for manifest in (
        pod_kill(TARGET),
        pod_failure(TARGET),
        network_delay(TARGET, 250),
        network_partition(TARGET, "upstream"),
        network_bandwidth(TARGET, 100),
        stress_cpu(TARGET, 70),
    ):
        assert manifest["apiVersion"] == "chaos-mesh.org/v1alpha1"
        assert manifest["metadata"] == {
            "name": "harness-x-f0-0",
            "namespace": "shop",
            "labels": {LABEL_RUN: RUN},
        }
        spec = manifest["spec"]
        assert spec["selector"] == {"pods": {"shop": ["web-a", "web-b"]}}
        assert spec["mode"] == "all"
        assert spec["duration"] == "41s"  # rounded up: never shorter than the window


def test_pod_chaos_actions() -> None:
    kill = pod_kill(TARGET, grace_period=5)
    assert kill["kind"] == "PodChaos"
    assert (kill["spec"]["action"], kill["spec"]["gracePeriod"]) == ("pod-kill", 5)
    failure = pod_failure(TARGET)
    assert failure["spec"]["action"] == "pod-failure" and "gracePeriod" not in failure["spec"]


def test_network_delay_and_partition_directions() -> None:
    delay = network_delay(TARGET, 250, 10)["spec"]
    assert delay["action"] == "delay"
    assert delay["delay"] == {"latency": "250ms", "jitter": "10ms"}
    assert delay["direction"] == "to"  # what the pods send: the only way without a target
    directions = {
        d: network_partition(TARGET, d)["spec"] for d in ("upstream", "downstream", "both")
    }
    assert {d: s["direction"] for d, s in directions.items()} == {
        "upstream": "from",
        "downstream": "to",
        "both": "both",
    }
    assert all(s["action"] == "partition" and "target" not in s for s in directions.values())


def test_bandwidth_is_bytes_per_second_with_a_bucket_that_holds_a_packet() -> None:
    spec = network_bandwidth(TARGET, 100)["spec"]
    assert (spec["action"], spec["direction"]) == ("bandwidth", "to")
    # the harness's KB is 1000 bytes; Chaos Mesh's kbps would be 1024
    assert spec["bandwidth"] == {"rate": "100000bps", "limit": 100_000, "buffer": 1600}
    fast = network_bandwidth(TARGET, 10_000_000)["spec"]["bandwidth"]
    assert fast["buffer"] == 100_000_000 and fast["limit"] == 2**32 - 1  # uint32 in the CRD


def test_cpu_stress_is_one_worker_at_the_load() -> None:
    manifest = stress_cpu(TARGET, 70)
    assert manifest["kind"] == "StressChaos"
    assert manifest["spec"]["stressors"] == {"cpu": {"workers": 1, "load": 70}}


def test_durations_read_as_go_durations() -> None:
    assert [go_duration(s) for s in (0.2, 30, 30.01, 3600)] == ["1s", "30s", "31s", "3600s"]


def test_names_are_dns_labels_derived_from_scope_fault_and_namespace() -> None:
    assert object_name(RUN, 2, 0) == "harness-20261207t203000-ab12-f2-0"
    assert object_name(f"{RUN}-s3", 2, 1) == "harness-20261207t203000-ab12-s3-f2-1"
    long = object_name("Run_" + "x" * 80, 12, 3)
    assert len(long) <= 63 and DNS_LABEL.match(long)
    assert long == object_name("Run_" + "x" * 80, 12, 3)  # the same in every process
    assert long != object_name("Run_" + "x" * 80, 12, 4)


def test_run_of_a_step_scope_is_the_bare_run_id() -> None:
    assert run_of(f"{RUN}-s12") == RUN
    assert run_of(RUN) == RUN


def test_refusals_name_what_chaos_mesh_cannot_do() -> None:
    assert refusal(_fault(type="latency", latency_ms=100)) is None  # downstream by default
    up = refusal(_fault(type="latency", latency_ms=100, direction="upstream"))
    assert up is not None and "direction upstream" in up and "downstream" in up
    both = refusal(_fault(type="bandwidth", rate_kb_per_s=10, direction="both"))
    assert both is not None and "direction both" in both
    assert refusal(_fault(type="blackhole", direction="both")) is None
    share = refusal(_fault(type="blackhole", toxicity=0.5))
    assert share is not None and "toxicity 0.5" in share
    assert refusal(_fault(type="kill")) is None


def test_the_faults_chaos_mesh_injects() -> None:
    assert {"kill", "pause", "latency", "blackhole", "bandwidth", "cpu_stress"} == CHAOS_MESH_FAULTS


# -- actions ----------------------------------------------------------------------------


class _MeshRuntime(FakeRuntime):
    def __init__(self, replicas: dict[str, str], engine: object | None) -> None:
        super().__init__(replicas)
        self.engine = engine

    def fault_objects(self):  # type: ignore[override]
        return self.engine


def _runtime(objects_namespace: str | None = None, engine: bool = True) -> _MeshRuntime:
    spec = KubernetesSpec(
        namespaces=("shop", "pay"),
        chaos_mesh=ChaosMeshSpec(margin=30, objects_namespace=objects_namespace),
    )
    mesh = ChaosMesh(FakeChaosMesh().client(), spec) if engine else None
    replicas = {"shop/web-a": "web", "shop/web-b": "web", "pay/api-a": "api"}
    return _MeshRuntime(replicas, mesh)


def _objects(actions: list | None) -> list[ChaosObject]:
    assert actions is not None and all(isinstance(a, ChaosObject) for a in actions)
    return actions


def test_one_object_per_namespace_of_the_planned_pods() -> None:
    runtime = _runtime()
    planned = FakePlanned(3, ("shop/web-b", "pay/api-a"))
    latency = _fault(type="latency", latency_ms=100)
    actions = _objects(chaos_actions(latency, planned, f"{RUN}-s2", runtime))
    assert [(a.namespace, a.name) for a in actions] == [
        ("pay", "harness-20261207t203000-ab12-s2-f3-0"),
        ("shop", "harness-20261207t203000-ab12-s2-f3-1"),
    ]
    first = actions[0].manifest
    assert first["spec"]["selector"] == {"pods": {"pay": ["api-a"]}}
    assert first["spec"]["duration"] == "40s"  # 10 s window + 30 s margin
    assert first["metadata"]["labels"] == {
        LABEL_RUN_SCOPE: f"{RUN}-s2",
        LABEL_RUN: RUN,
        MANAGED_BY[0]: MANAGED_BY[1],
    }
    assert all(killed_by(a) == () for a in actions)


def test_objects_go_to_the_configured_namespace() -> None:
    planned = FakePlanned(0, ("shop/web-a", "pay/api-a"))
    actions = _objects(chaos_actions(_fault(type="pause"), planned, RUN, _runtime("chaos-objects")))
    assert {a.namespace for a in actions} == {"chaos-objects"}
    assert len({a.name for a in actions}) == 2


def test_a_pod_kill_names_the_pods_it_kills() -> None:
    runtime = _runtime()
    kill = _fault(type="kill")
    (action,) = _objects(chaos_actions(kill, FakePlanned(0, ("shop/web-a",)), RUN, runtime))
    assert action.manifest["spec"]["action"] == "pod-kill"
    assert action.manifest["spec"]["gracePeriod"] == 0
    assert killed_by(action) == (runtime.live["shop/web-a"],)


def test_faults_chaos_mesh_does_not_inject_are_the_faults_own() -> None:
    planned = FakePlanned(0, ("shop/web-a",))
    assert chaos_actions(_fault(type="terminate"), planned, RUN, _runtime()) is None
    assert chaos_actions(_fault(type="reset_peer"), planned, RUN, _runtime()) is None
    kill = _fault(type="kill")
    assert chaos_actions(kill, planned, RUN, _runtime(engine=False)) is None


def test_a_pod_not_live_or_an_impossible_direction_injects_nothing() -> None:
    with pytest.raises(HarnessError, match="shop/web-z is not live"):
        chaos_actions(_fault(type="kill"), FakePlanned(0, ("shop/web-z",)), RUN, _runtime())
    upstream = _fault(type="latency", latency_ms=100, direction="upstream")
    with pytest.raises(Refused, match="direction upstream"):
        chaos_actions(upstream, FakePlanned(0, ("shop/web-a",)), RUN, _runtime())


def _chaos_object() -> ChaosObject:
    pod = Instance("web", "shop/web-a", "uid:1234")
    manifest = pod_kill(Target("harness-x-f0-0", "shop", {"shop": ("web-a",)}, {}, 10))
    return ChaosObject("chaos-mesh.org/v1alpha1", "PodChaos", "shop", "harness-x-f0-0",
                       manifest, (pod,))  # fmt: skip


def test_a_chaos_object_round_trips_through_the_journal() -> None:
    action = _chaos_object()
    data = json.loads(json.dumps(action.to_json()))
    assert data["kind"] == "chaos_object"
    assert data["killed"] == [{"service": "web", "name": "shop/web-a", "identity": "uid:1234"}]
    assert action_from_json(data) == action
    assert ChaosObject.from_json(data) == action
    assert action.describe() == "PodChaos shop/harness-x-f0-0 (pod-kill) on shop/web-a"


def test_killed_by_names_what_a_kill_ends_and_nothing_else() -> None:
    kill = Signal("shop/web-a", "web", "uid:1", "SIGKILL")
    assert killed_by(kill) == (kill.instance,)
    assert killed_by(Signal("shop/web-a", "web", "uid:1", "SIGTERM")) == (kill.instance,)
    assert killed_by(Signal("shop/web-a", "web", "uid:1", "SIGSTOP")) == ()
    assert killed_by(_chaos_object()) == (Instance("web", "shop/web-a", "uid:1234"),)


class _Engine:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def create(self, manifest: dict) -> None:
        self.calls.append(("create", manifest["metadata"]["name"]))

    def delete(self, manifest: dict) -> None:
        self.calls.append(("delete", manifest["metadata"]["name"]))

    def sweep(self, run_id: str) -> list[str]:
        return []


def test_apply_creates_and_revert_deletes_then_awaits_the_replacement() -> None:
    engine = _Engine()
    runtime = _MeshRuntime({"shop/web-a": "web"}, engine)
    pod = runtime.live["shop/web-a"]
    manifest = pod_kill(Target("k", "shop", {"shop": ("web-a",)}, {}, 10))
    action = ChaosObject("chaos-mesh.org/v1alpha1", "PodChaos", "shop", "k", manifest, (pod,))
    env = FaultEnv(None, runtime, restart_timeout=0.3)
    action.apply(env)
    with pytest.raises(HarnessError, match="shop/web-a was not replaced within"):
        action.revert(env)  # deleted, but nothing replaced the pod
    runtime.respawn_now("web", "shop/web-a")
    action.revert(env)
    assert engine.calls == [("create", "k"), ("delete", "k"), ("delete", "k")]


def test_without_a_fault_engine_a_chaos_object_says_so() -> None:
    env = FaultEnv(None, FakeRuntime({}))
    with pytest.raises(HarnessError, match="no fault engine .*chaos_mesh"):
        _chaos_object().apply(env)
