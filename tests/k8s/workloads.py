"""Deployments of kwok pods on the test bed, and a killed pod's replacement, timed."""

from __future__ import annotations

import time
from typing import Any

from tests.k8s.kubeapi import KubeApi, condition
from tests.waiting import wait_for


def deployment(name: str, replicas: int) -> dict[str, Any]:
    """A Deployment whose pods kwok runs (no image is pulled: the nodes are fake)."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]},
            },
        },
    }


def apply_deployment(api: KubeApi, namespace: str, name: str, replicas: int) -> None:
    """Create (or update) the namespace and the Deployment, server-side."""
    api.apply(f"/api/v1/namespaces/{namespace}",
              {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})  # fmt: skip
    api.apply(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
              deployment(name, replicas))  # fmt: skip


def ready_pods(api: KubeApi, namespace: str, app: str) -> list[dict[str, Any]]:
    """The app's pods that are Running, Ready and not being deleted."""
    pods = api.get(f"/api/v1/namespaces/{namespace}/pods", labelSelector=f"app={app}")["items"]
    return [
        pod
        for pod in pods
        if pod["status"].get("phase") == "Running"
        and condition(pod, "Ready") == "True"
        and "deletionTimestamp" not in pod["metadata"]
    ]


def await_ready(
    api: KubeApi, namespace: str, app: str, count: int, timeout: float = 20.0
) -> list[dict[str, Any]]:
    """Exactly `count` ready pods of the app, awaited with a deadline."""

    def check() -> list[dict[str, Any]] | None:
        pods = ready_pods(api, namespace, app)
        return pods if len(pods) == count else None

    return wait_for(check, timeout, f"{count} ready pods of {namespace}/{app}")


def uids(pods: list[dict[str, Any]]) -> set[str]:
    return {pod["metadata"]["uid"] for pod in pods}


def kill_and_time_replacement(
    api: KubeApi, namespace: str, app: str, count: int, timeout: float = 20.0
) -> float:
    """Delete one ready pod (grace 0); seconds until `count` ready pods, one of them new."""
    before = await_ready(api, namespace, app, count, timeout)
    victim = before[0]["metadata"]["name"]
    started = time.monotonic()
    response = api.delete(f"/api/v1/namespaces/{namespace}/pods/{victim}", grace_seconds=0)
    response.raise_for_status()
    wait_for(
        lambda: (
            len(pods := ready_pods(api, namespace, app)) == count and uids(pods) != uids(before)
        ),
        timeout,
        f"a replacement of {namespace}/{victim} ready",
        interval=0.02,
    )
    return time.monotonic() - started
