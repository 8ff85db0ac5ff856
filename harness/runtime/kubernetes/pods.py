"""The pods a service's selector picks, and what the harness refuses to touch.

A selector reaches only the namespaces the topology lists (all of them when it names
none); the cluster's own namespaces (kube-*), Chaos Mesh's and pods on the host's
network are refused unless a field allows them. A refusal names the service, the
namespace or pod, and the field that would allow it: it is raised while the pods are
listed, so preflight meets it before anything is injected. Pods being deleted or
finished are not instances.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

import lightkube
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Pod

from harness.errors import Refused
from harness.runtime.kubernetes.api import calling, code_of, request
from harness.specs.kubernetes import KubernetesSpec, PodSelector, system_namespace

__all__ = [
    "condition_since",
    "controller_of",
    "is_ready",
    "live",
    "namespaces_of",
    "pod_name",
    "pods_of",
]

FINISHED = ("Succeeded", "Failed")


def namespaces_of(service: str, selector: PodSelector, spec: KubernetesSpec) -> tuple[str, ...]:
    """The namespaces to look in, each allowed; Refused naming the first that is not."""
    chosen = selector.selected_namespaces() or spec.namespaces
    for ns in chosen:
        _check_namespace(service, ns, spec)
    return chosen


def _check_namespace(service: str, ns: str, spec: KubernetesSpec) -> None:
    mesh = spec.chaos_mesh.namespace if spec.chaos_mesh else None
    if not spec.allow_system_namespaces and (system_namespace(ns) or ns == mesh):
        what = "the cluster's own namespace" if system_namespace(ns) else "Chaos Mesh's namespace"
        raise Refused(
            f"service {service}: namespace {ns} is {what}: set kubernetes."
            "allow_system_namespaces: true (and list it) to let an experiment touch it"
        )
    if ns not in spec.namespaces:
        raise Refused(
            f"service {service}: namespace {ns} is not in kubernetes.namespaces "
            f"({', '.join(spec.namespaces)}): list it there to let an experiment touch it"
        )


def pods_of(
    client: lightkube.Client, service: str, selector: PodSelector, spec: KubernetesSpec
) -> list[Pod]:
    """The live pods the selector picks in the allowed namespaces, sorted by name."""
    found: list[Pod] = []
    for ns in namespaces_of(service, selector, spec):
        found += (
            _named(client, ns, selector.pods.get(ns, ()))
            if selector.pods
            else _listed(client, ns, selector)
        )
    pods = sorted((p for p in found if live(p)), key=pod_name)
    for pod in pods:
        if pod.spec is not None and pod.spec.hostNetwork and not spec.allow_host_network:
            raise Refused(
                f"service {service}: pod {pod_name(pod)} runs on the host's network (it shares "
                "the node's): set kubernetes.allow_host_network: true to let an experiment "
                "hurt it"
            )
    return pods


def _listed(client: lightkube.Client, ns: str, selector: PodSelector) -> list[Pod]:
    with calling("list", "pods", ns):
        body = request(
            client,
            "GET",
            f"api/v1/namespaces/{ns}/pods",
            params={"labelSelector": selector.label_selector()},
        ).json()
    return [cast(Pod, Pod.from_dict(item)) for item in body.get("items") or []]


def _named(client: lightkube.Client, ns: str, names: tuple[str, ...]) -> list[Pod]:
    pods = []
    for name in names:
        with calling("get", "pods", ns):
            try:
                pods.append(client.get(Pod, name, namespace=ns))
            except ApiError as e:
                if code_of(e) != 404:
                    raise
    return pods


def live(pod: Pod) -> bool:
    """Not being deleted, not finished: an instance."""
    if pod.metadata is None or pod.metadata.deletionTimestamp is not None:
        return False
    return pod.status is None or pod.status.phase not in FINISHED


def pod_name(pod: Pod) -> str:
    """The pod as the harness names an instance: namespace/name."""
    assert pod.metadata is not None
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def controller_of(pod: Pod) -> str | None:
    """The uid of the pod's controlling owner (its ReplicaSet, StatefulSet...), if any."""
    refs = pod.metadata.ownerReferences if pod.metadata else None
    return next((ref.uid for ref in refs or [] if ref.controller), None)


def is_ready(pod: Pod) -> bool:
    return live(pod) and condition_since(pod, "Ready") is not None


def condition_since(pod: Pod, kind: str) -> datetime | None:
    """When the pod's condition `kind` became True (None: it is not True now); a True
    condition with no transition time is dated to the epoch."""
    for cond in (pod.status.conditions if pod.status else None) or []:
        if cond.type == kind and cond.status == "True":
            return cond.lastTransitionTime or datetime.fromtimestamp(0).astimezone()
    return None
