"""The Kubernetes test bed works end to end: fake pods scheduled and Ready, a deleted pod
replaced by its ReplicaSet, RBAC enforced for a user with no roles, and (when built) a Chaos
Mesh pod-kill injected. Driven through lightkube, the client the harness uses
(docs/decisions.md, §17), so the bed is proven for it too."""

from __future__ import annotations

import ipaddress
import time

import httpx2
import pytest
from lightkube import ApiError, Client, KubeConfig
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Node, Pod

from tests.k8s.kubeapi import KubeApi
from tests.k8s.testbed import TestBed
from tests.k8s.workloads import (
    apply_deployment,
    await_ready,
    kill_and_time_replacement,
    ready_pods,
    uids,
)
from tests.waiting import wait_for

NAMESPACE = "smoke"
PodChaos = create_namespaced_resource("chaos-mesh.org", "v1alpha1", "PodChaos", "podchaos")


def _client(kubeconfig) -> Client:
    return Client(KubeConfig.from_file(kubeconfig), timeout=httpx2.Timeout(5.0))


@pytest.mark.slow
def test_testbed_runs_replaces_and_refuses(k8s_bed: TestBed) -> None:
    admin, limited = _client(k8s_bed.kubeconfig), _client(k8s_bed.limited_kubeconfig)
    api = k8s_bed.api()
    print("test bed ready in", {k: round(v, 2) for k, v in k8s_bed.timings.items()})
    try:
        nodes = list(admin.list(Node, labels={"type": "kwok"}))
        assert len(nodes) == k8s_bed.nodes
        apply_deployment(api, NAMESPACE, "web", replicas=3)
        pods = await_ready(api, NAMESPACE, "web", 3)
        # kwok gives every fake pod a loopback address (--cidr=127.1.0.0/16)
        assert all(ipaddress.ip_address(p["status"]["podIP"]).is_loopback for p in pods)

        seconds = kill_and_time_replacement(api, NAMESPACE, "web", 3)
        print(f"deleted pod replaced and Ready in {seconds:.2f} s")

        victim = await_ready(api, NAMESPACE, "web", 3)[0]["metadata"]["name"]
        with pytest.raises(ApiError) as refused:
            limited.delete(Pod, victim, namespace=NAMESPACE, grace_period=0)
        assert refused.value.status.code == 403
        assert 'cannot delete resource "pods"' in refused.value.status.message
        assert admin.get(Pod, victim, namespace=NAMESPACE).metadata.deletionTimestamp is None

        if k8s_bed.chaos_mesh:
            _pod_kill_through_chaos_mesh(admin, api)
    finally:
        admin.close()
        limited.close()
        api.close()


def _pod_kill_through_chaos_mesh(admin: Client, api: KubeApi) -> None:
    before = uids(await_ready(api, NAMESPACE, "web", 3))
    chaos = PodChaos(
        metadata={"name": "smoke-kill", "namespace": NAMESPACE},
        spec={
            "action": "pod-kill",
            "mode": "one",
            "gracePeriod": 0,
            "selector": {"namespaces": [NAMESPACE], "labelSelectors": {"app": "web"}},
        },
    )
    started = time.monotonic()
    admin.create(chaos)
    try:
        wait_for(
            lambda: (
                _condition(admin.get(PodChaos, "smoke-kill", namespace=NAMESPACE), "AllInjected")
                == "True"
            ),
            20,
            "PodChaos smoke-kill AllInjected",
        )
        injected = time.monotonic() - started
        wait_for(
            lambda: (
                len(pods := ready_pods(api, NAMESPACE, "web")) == 3
                and len(before - uids(pods)) == 1
            ),
            20,
            "the killed pod replaced (3 ready, one of them new)",
        )
        print(f"PodChaos AllInjected in {injected:.2f} s, pod replaced in "
              f"{time.monotonic() - started:.2f} s after create")  # fmt: skip
    finally:
        admin.delete(PodChaos, "smoke-kill", namespace=NAMESPACE)
    wait_for(lambda: not _exists(admin, "smoke-kill"), 20, "PodChaos smoke-kill deleted")


def _condition(obj, kind: str) -> str | None:
    for cond in (obj.status or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond.get("status")
    return None


def _exists(admin: Client, name: str) -> bool:
    try:
        admin.get(PodChaos, name, namespace=NAMESPACE)
    except ApiError as error:
        if error.status.code == 404:
            return False
        raise
    return True
