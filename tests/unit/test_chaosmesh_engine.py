"""Chaos Mesh as the fault engine, against an API in memory: injected only when Chaos Mesh
says AllInjected (never-injected: an honest error with its reason, at the deadline), a
delete awaited until gone, a delete held by the finalizer a "rollback incomplete" that
says what to check, a sweep by the run's label, and a 403 a refusal."""

from __future__ import annotations

import time

import pytest

from harness.errors import HarnessError, Refused, RollbackFailed
from harness.runtime.kubernetes.chaosmanifests import Target, network_delay, pod_kill
from harness.runtime.kubernetes.chaosmesh import ChaosMesh, ChaosStatus
from harness.runtime.kubernetes.labels import run_labels
from harness.specs.kubernetes import ChaosMeshSpec, KubernetesSpec
from tests.unit.fakechaosmesh import FakeChaosMesh, Script

RUN = "20261207T203000-ab12"
TIMEOUT = 0.3


def _engine(api: FakeChaosMesh, **chaos_mesh: object) -> ChaosMesh:
    settings = {"inject_timeout": TIMEOUT, "delete_timeout": TIMEOUT, **chaos_mesh}
    spec = KubernetesSpec(namespaces=("shop", "pay"), chaos_mesh=ChaosMeshSpec(**settings))
    return ChaosMesh(api.client(), spec, poll=0.01)


def _delay(name: str = "nc", ns: str = "shop", scope: str = RUN) -> dict:
    labels = run_labels(RUN, scope)
    return network_delay(Target(name, ns, {ns: ("web-a",)}, labels, 40), 100)


def _kill(name: str = "pk", ns: str = "shop", scope: str = RUN) -> dict:
    return pod_kill(Target(name, ns, {ns: ("web-a",)}, run_labels(RUN, scope), 40))


def test_create_awaits_all_injected() -> None:
    api = FakeChaosMesh(scripts={"pk": Script(inject_after=4)})
    _engine(api).create(_kill())
    assert api.looks["pk"] == 4  # it looked until Chaos Mesh said AllInjected=True
    created = api.objects[("podchaos", "shop", "pk")]
    assert created["spec"]["action"] == "pod-kill"
    assert created["metadata"]["labels"]["chaos-harness/run"] == RUN


def test_never_injected_is_an_error_with_chaos_mesh_reason_at_the_deadline() -> None:
    api = FakeChaosMesh(scripts={"nc": Script(inject_after=None)})
    began = time.monotonic()
    with pytest.raises(HarnessError) as error:
        _engine(api).create(_delay())
    assert TIMEOUT <= time.monotonic() - began < TIMEOUT + 2
    message = str(error.value)
    assert message.startswith("NetworkChaos shop/nc was never injected within 0.3s")
    assert "AllInjected: False" in message
    assert "shop/web-a: Not Injected/Wait: cannot find daemonIP on node node-1" in message
    assert ("podchaos", "shop", "nc") not in api.objects
    assert ("networkchaos", "shop", "nc") in api.objects  # it stays: its revert deletes it


def test_never_selected_says_what_the_events_say() -> None:
    api = FakeChaosMesh(scripts={"nc": Script(inject_after=None, records=False)})
    with pytest.raises(
        HarnessError, match="Chaos Mesh says: Failed to select targets: no pod is selected"
    ):
        _engine(api).create(_delay())


def test_unreadable_events_are_said_not_hidden() -> None:
    script = Script(inject_after=None, records=False)
    api = FakeChaosMesh(scripts={"nc": script}, forbid={("GET", "events")})
    with pytest.raises(
        HarnessError,
        match="never injected.*its events could not be read: the API server refused to list events",
    ):
        _engine(api).create(_delay())


def test_delete_awaits_gone_and_gone_already_is_done() -> None:
    api = FakeChaosMesh()
    engine = _engine(api)
    engine.create(_kill())
    engine.delete(_kill())
    assert api.objects == {}
    engine.delete(_kill())  # 404: nothing left to do
    assert ("GET", "/apis/chaos-mesh.org/v1alpha1/namespaces/shop/podchaos/pk") in api.calls


def test_a_delete_held_by_the_finalizer_is_a_rollback_incomplete() -> None:
    api = FakeChaosMesh(scripts={"nc": Script(inject_after=None, stuck=True)})
    api.nodes["web-a"] = "node-7"
    engine = _engine(api)
    with pytest.raises(HarnessError):
        engine.create(_delay())
    began = time.monotonic()
    with pytest.raises(RollbackFailed) as error:
        engine.delete(_delay())
    assert TIMEOUT <= time.monotonic() - began < TIMEOUT + 2
    message = str(error.value)
    assert message.startswith(
        "rollback incomplete: NetworkChaos shop/nc is still there, held by finalizer "
        "chaos-mesh/records: the fault may still be applied "
        "(shop/web-a: Not Injected/Wait: cannot find daemonIP on node node-1)"
    )
    assert "check `kubectl get networkchaos -n shop nc -o yaml`" in message
    assert "`kubectl get podnetworkchaos -n shop web-a -o yaml`" in message
    assert "the chaos-daemon on node-7" in message
    assert message.endswith("then `harness recover`")
    # the harness never strips the finalizer itself
    assert api.objects[("networkchaos", "shop", "nc")]["metadata"]["finalizers"] == [
        "chaos-mesh/records"
    ]
    assert not any(method == "PATCH" for method, _ in api.calls)


def test_a_delete_not_carried_out_says_so() -> None:
    api = FakeChaosMesh(scripts={"pk": Script(deaf=True)})
    engine = _engine(api)
    engine.create(_kill())
    with pytest.raises(RollbackFailed, match="PodChaos shop/pk is still there, not even marked"):
        engine.delete(_kill())


def test_sweep_deletes_the_runs_objects_and_its_steps_in_the_allowed_namespaces() -> None:
    api = FakeChaosMesh()
    api.put(_kill("a", "shop"))
    api.put(_delay("b", "pay", scope=f"{RUN}-s2"))  # a ramp step's: same run label
    other = _kill("c", "shop")
    other["metadata"]["labels"] = run_labels("20261207T210000-cd34")
    api.put(other)
    api.put(_kill("d", "elsewhere"))  # a namespace the topology does not list
    swept = _engine(api).sweep(RUN)
    assert sorted(swept) == ["NetworkChaos pay/b deleted", "PodChaos shop/a deleted"]
    assert sorted(k[2] for k in api.objects) == ["c", "d"]
    lists = [path for method, path in api.calls if method == "GET" and path.endswith("chaos")]
    assert len(lists) == 2 * 3  # every kind in every listed namespace
    assert _engine(api).sweep(RUN) == []


def test_sweep_names_what_is_still_held_and_succeeds_once_released() -> None:
    api = FakeChaosMesh(scripts={"b": Script(stuck=True)})
    api.put(_kill("a", "shop"))
    api.put(_delay("b", "pay"))
    engine = _engine(api)
    with pytest.raises(RollbackFailed) as error:
        engine.sweep(RUN)
    assert str(error.value).startswith("rollback incomplete: NetworkChaos pay/b is still there")
    assert ("podchaos", "shop", "a") not in api.objects
    api.release("b")
    assert engine.sweep(RUN) == []  # it went once released: nothing of the run is left


def test_a_403_is_a_refusal_naming_verb_resource_and_namespace() -> None:
    api = FakeChaosMesh(forbid={("POST", "networkchaos")})
    with pytest.raises(Refused) as error:
        _engine(api).create(_delay())
    assert "refused to create networkchaos in namespace shop for user limited" in str(error.value)
    api = FakeChaosMesh(forbid={("GET", "stresschaos")})
    with pytest.raises(Refused, match="refused to list stresschaos in namespace shop"):
        _engine(api).sweep(RUN)


def test_an_existing_object_is_ours_only_with_this_scope() -> None:
    api = FakeChaosMesh()
    api.put(_kill())
    _engine(api).create(_kill())  # a create retried: the same scope, awaited as ours
    with pytest.raises(Refused, match="already exists and is not this run's"):
        _engine(api).create(_kill(scope=f"{RUN}-s9"))


def test_status_is_parsed_once_into_records() -> None:
    status = ChaosStatus.of(
        {
            "metadata": {"finalizers": ["chaos-mesh/records"], "deletionTimestamp": "t"},
            "status": {
                "conditions": [{"type": "AllInjected", "status": "True"}],
                "experiment": {
                    "containerRecords": [
                        {"id": "shop/web-a/app", "phase": "Injected", "events": [
                            {"type": "Failed", "message": "first try"},
                            {"type": "Succeeded"},
                        ]},
                    ]
                },
            },
        }
    )  # fmt: skip
    assert status.injected and status.deleting
    assert status.finalizers == ("chaos-mesh/records",)
    (record,) = status.records
    assert (record.pod, record.phase, record.failures) == (
        ("shop", "web-a"),
        "Injected",
        ("first try",),
    )
    assert not ChaosStatus.of({}).injected
