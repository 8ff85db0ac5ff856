"""The runtime contract (tests/unit/test_runtime_contract.py), kept by the Kubernetes
runtime on the test bed: the same test functions, with a driver whose replicas are the
pods of two StatefulSets (catalog-1, catalog-2, orders-1: stable names, as the contract's
"same name, new identity" replacement asks), so

- a successor under the same name is what the StatefulSet controller makes of a delete;
- an instance ends for good when its StatefulSet's ordinals stop covering it;
- the control plane goes away when the relay the runtime reaches it through is cut.

SIGSTOP has no meaning for a pod (pause goes through Chaos Mesh): the contract's signal
test is kept here with SIGKILL, the one signal this runtime sends without Chaos Mesh.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.faults import FAULT_TYPES
from harness.runtime.base import Endpoints, Instance
from harness.runtime.kubernetes.runtime import KubernetesRuntime
from harness.specs.kubernetes import KubernetesSpec, PodSelector
from tests.k8s.kubeapi import KubeApi, condition
from tests.k8s.relay import Relay
from tests.k8s.testbed import TestBed
from tests.unit.test_runtime_contract import (
    REPLICAS,
    Driver,
    test_a_gone_instance_is_not_listed_not_ready_and_not_signalled,
    test_endpoints_are_base_urls,
    test_instances_have_stable_distinct_identities,
    test_ready_is_asked_of_one_identity,
    test_supported_faults_are_known_fault_types,
    test_the_control_plane_is_alive_until_it_is_not,
    test_the_replacement_is_the_same_name_with_a_new_identity,
)
from tests.waiting import wait_for

__all__ = [  # the contract's tests, collected here against this driver
    "test_a_gone_instance_is_not_listed_not_ready_and_not_signalled",
    "test_endpoints_are_base_urls",
    "test_instances_have_stable_distinct_identities",
    "test_ready_is_asked_of_one_identity",
    "test_supported_faults_are_known_fault_types",
    "test_the_control_plane_is_alive_until_it_is_not",
    "test_the_replacement_is_the_same_name_with_a_new_identity",
]

NAMESPACE = "contract"
ENDPOINTS = Endpoints("http://prom.test:9090", "http://am.test:9093", "http://receiver.test:9095")
SETS = {"catalog": 2, "orders": 1}  # StatefulSet → replicas, ordinals from 1 (REPLICAS)

pytestmark = pytest.mark.slow


def statefulset(name: str, replicas: int, start: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "replicas": replicas,
            "ordinals": {"start": start},
            "podManagementPolicy": "Parallel",
            "serviceName": name,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "app", "image": "registry.invalid/app:1"}],
                    "terminationGracePeriodSeconds": 0,
                },
            },
        },
    }


def _sts_path(name: str) -> str:
    return f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets/{name}"


def _ready_pods(api: KubeApi) -> dict[str, str]:
    """pod name → uid, of the Ready pods not being deleted."""
    pods = api.get(f"/api/v1/namespaces/{NAMESPACE}/pods")["items"]
    return {
        p["metadata"]["name"]: p["metadata"]["uid"]
        for p in pods
        if condition(p, "Ready") == "True" and "deletionTimestamp" not in p["metadata"]
    }


def _reset(api: KubeApi) -> None:
    """Exactly REPLICAS, Ready: the StatefulSets as they start, nothing terminating."""
    api.apply(f"/api/v1/namespaces/{NAMESPACE}",
              {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})  # fmt: skip
    for name, replicas in SETS.items():
        api.apply(_sts_path(name), statefulset(name, replicas))

    def settled() -> bool:
        pods = api.get(f"/api/v1/namespaces/{NAMESPACE}/pods")["items"]
        return sorted(_ready_pods(api)) == sorted(REPLICAS) and len(pods) == len(REPLICAS)

    wait_for(settled, 30, f"pods {', '.join(REPLICAS)} Ready, nothing else")


def _driver(bed: TestBed, api: KubeApi, tmp_path) -> tuple[Driver, Relay]:
    _reset(api)
    relay = Relay(bed.ports.apiserver)
    kubeconfig = tmp_path / "relayed.kubeconfig"
    kubeconfig.write_text(
        bed.kubeconfig.read_text().replace(bed.server, f"https://127.0.0.1:{relay.port}")
    )
    spec = KubernetesSpec(kubeconfig=kubeconfig, namespaces=(NAMESPACE,), request_timeout=5)
    services = {name: PodSelector(labelSelectors={"app": name}) for name in SETS}
    rt = KubernetesRuntime(spec, services, ENDPOINTS, tmp_path, run_dir=tmp_path)

    def end(inst: Instance) -> None:
        """Its StatefulSet's ordinals no longer cover it: gone, and not replaced."""
        set_name, ordinal = inst.name.split("/")[1].rsplit("-", 1)
        sts = api.get(_sts_path(set_name))["spec"]
        start, replicas = sts.get("ordinals", {}).get("start", 0), sts["replicas"]
        first = int(ordinal) == start  # else the last: dropped by scaling down
        api.apply(_sts_path(set_name), statefulset(set_name, replicas - 1, start + first))

    def replace(inst: Instance) -> None:
        pod = inst.name.split("/")[1]
        old = _ready_pods(api)[pod]
        api.delete(f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}", grace_seconds=0)
        wait_for(lambda: _ready_pods(api).get(pod, old) != old, 20, f"{pod} replaced, Ready")

    driver = Driver(
        rt,
        end=end,
        replace=replace,
        stop_control_plane=relay.cut,
        stopped=lambda inst: False,  # nothing is ever stopped: pods are not paused here
        ready_one=rt.instances()[0],
        known_faults=frozenset(FAULT_TYPES),
        name=lambda replica: f"{NAMESPACE}/{replica}",
    )
    return driver, relay


@pytest.fixture(scope="module")
def api(k8s_bed: TestBed) -> Iterator[KubeApi]:
    api = k8s_bed.api()
    yield api
    api.close()


@pytest.fixture
def driver(k8s_bed, api, tmp_path) -> Iterator[Driver]:
    driver, relay = _driver(k8s_bed, api, tmp_path)
    yield driver
    relay.cut()


def test_a_kill_goes_to_that_identity_only(driver):
    """The contract's signal test with SIGKILL: once the name is a successor's, the old
    identity's kill is refused by the uid precondition and the successor lives on."""
    rt = driver.runtime
    old = next(i for i in rt.instances() if i.name == driver.name("orders-1"))
    driver.replace(old)
    (new,) = rt.instances("orders")
    assert rt.signal(old, "SIGKILL") is False
    assert rt.instances("orders") == [new] and rt.ready(new)
    assert rt.signal(old, "SIGSTOP") is False and rt.signal(new, "SIGSTOP") is False
