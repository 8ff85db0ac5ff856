"""Kubernetes probes on the real control plane, read through the client the Kubernetes
runtime offers (`client_of`): a Deployment of 3 kwok pods reads 3 ready replicas; a
deleted pod is replaced and the probe reads 3 again with the replacement among them; a
Deployment whose pods cannot be scheduled reads 0 ready and 2 unready (a fail, not a
pass); a missing workload is no data, and a user with no role gets an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.probes.kubernetes import KubernetesProbes, client_of, read_workload
from harness.runtime.base import Endpoints
from harness.runtime.kubernetes.runtime import KubernetesRuntime
from harness.specs.kubernetes import KubernetesSpec, PodSelector
from harness.specs.probes import KubernetesProbe, WorkloadRef
from tests.k8s.testbed import TestBed
from tests.k8s.workloads import apply_deployment, await_ready, deployment
from tests.waiting import wait_for

NAMESPACE = "probe-bed"


def _runtime(kubeconfig: Path, tmp_path: Path) -> KubernetesRuntime:
    spec = KubernetesSpec(kubeconfig=kubeconfig, namespaces=(NAMESPACE,), request_timeout=5.0)
    selector = PodSelector(namespaces=(NAMESPACE,), labelSelectors={"app": "orders"})
    endpoints = Endpoints("http://127.0.0.1:9", None, None)
    return KubernetesRuntime(spec, {"orders": selector}, endpoints, tmp_path)


def _probe(name: str, metric: str, op: str, threshold: float, workload: str = "orders"):
    ref = {"kind": "Deployment", "namespace": NAMESPACE, "name": workload}
    return KubernetesProbe.model_validate(
        {
            "name": name,
            "kubernetes": {"workload": ref, "metric": metric},
            "op": op,
            "threshold": threshold,
        }
    )


@pytest.mark.slow
def test_kubernetes_probe_reads_a_deployment_of_kwok_pods(k8s_bed: TestBed, tmp_path: Path) -> None:
    api = k8s_bed.api()
    runtime = _runtime(k8s_bed.kubeconfig, tmp_path)
    client = client_of(runtime)
    assert client is not None
    probes = KubernetesProbes()
    ready = _probe("orders_ready", "ready_replicas", ">=", 3)
    try:
        apply_deployment(api, NAMESPACE, "orders", replicas=3)
        await_ready(api, NAMESPACE, "orders", 3)
        result = wait_for(
            lambda: (r := probes.evaluate(ready, client)).ok and r, 10.0, "3 ready replicas"
        )
        assert (result.value, result.query) == (
            3.0,
            f"Deployment {NAMESPACE}/orders ready replicas",
        )
        assert probes.evaluate(_probe("orders_unready", "unready_replicas", "<=", 0), client).ok
        restarts = probes.evaluate(_probe("orders_restarts", "restarts", "<=", 0), client)
        assert (restarts.status, restarts.value) == ("pass", 0.0)

        _replaced_pod_read_again(api, client, probes, ready)
        _unschedulable_reads_unready(api, client, probes)

        gone = probes.evaluate(_probe("absent", "ready_replicas", ">=", 1, "absent"), client)
        assert (gone.status, gone.value, gone.ok) == ("no data", None, False)
        assert gone.detail == f"Deployment {NAMESPACE}/absent not found"

        limited = client_of(_runtime(k8s_bed.limited_kubeconfig, tmp_path))
        assert limited is not None
        refused = probes.evaluate(ready, limited)
        limited.close()
        assert (refused.status, refused.ok) == ("error", False)
        assert refused.detail.startswith(
            f"refused (403): cannot get deployments and list pods in namespace {NAMESPACE}: "
        )
    finally:
        api.close()
        client.close()


def _replaced_pod_read_again(api, client, probes: KubernetesProbes, ready) -> None:
    """Delete one pod (grace 0): within a deadline the probe reads 3 ready again, the
    replacement among them; every reading on the way is 2 or 3, never a missing value."""
    ref = WorkloadRef(kind="Deployment", namespace=NAMESPACE, name="orders")
    before = {key.split("/")[0] for key in read_workload(client, ref).restarts}
    assert len(before) == 3
    victim = await_ready(api, NAMESPACE, "orders", 3)[0]["metadata"]
    api.delete(f"/api/v1/namespaces/{NAMESPACE}/pods/{victim['name']}", grace_seconds=0)
    seen: list[float | None] = []

    def recovered() -> bool:
        result = probes.evaluate(ready, client)
        seen.append(result.value)
        pods = {key.split("/")[0] for key in read_workload(client, ref).restarts}
        return result.ok and victim["uid"] not in pods and len(pods - before) == 1

    wait_for(recovered, 20.0, "the probe reading 3 ready with the replacement", interval=0.02)
    assert set(seen) <= {2.0, 3.0}, seen
    print(f"ready replicas read while the pod was replaced: {seen}")


def _unschedulable_reads_unready(api, client, probes: KubernetesProbes) -> None:
    """A Deployment whose pods no node takes: 0 ready of 2, a fail and 2 unready."""
    stuck = deployment("stuck", 2)
    stuck["spec"]["template"]["spec"]["nodeSelector"] = {"no-such-node": "true"}
    api.apply(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/stuck", stuck)
    unready = _probe("stuck_unready", "unready_replicas", "<=", 0, "stuck")
    result = wait_for(
        lambda: (r := probes.evaluate(unready, client)).detail.endswith("2 pods") and r,
        10.0,
        "2 pods of stuck, pending",
    )
    assert (result.status, result.value, result.detail) == ("fail", 2.0, "0 of 2 ready; 2 pods")
    none_ready = probes.evaluate(_probe("stuck_ready", "ready_replicas", ">=", 2, "stuck"), client)
    assert (none_ready.status, none_ready.value) == ("fail", 0.0)
