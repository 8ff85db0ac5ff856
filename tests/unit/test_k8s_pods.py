"""The pods of a selector: only in the listed namespaces, never the cluster's own or Chaos
Mesh's unless allowed, never a pod on the host's network unless allowed; the refusal
names the service, the namespace or pod and the field that would allow it."""

from __future__ import annotations

import pytest

from harness.errors import Refused
from harness.runtime.kubernetes.connect import connect
from harness.runtime.kubernetes.pods import pod_name, pods_of
from harness.specs.kubernetes import KubernetesSpec, PodSelector
from tests.fakekube import FakeKube, write_kubeconfig


@pytest.fixture
def kube() -> FakeKube:
    return FakeKube()


def cluster(tmp_path, kube, **fields):
    write_kubeconfig(tmp_path / "config")
    fields.setdefault("namespaces", ("shop", "staging"))
    spec = KubernetesSpec(kubeconfig="config", **fields)
    return spec, connect(spec, tmp_path, transport=kube.transport)


def names(pods) -> list[str]:
    return [pod_name(p) for p in pods]


def test_a_selector_without_namespaces_looks_in_every_listed_one(tmp_path, kube):
    spec, client = cluster(tmp_path, kube)
    for ns in ("shop", "staging", "other"):
        kube.add_pod(ns, "web-b", {"app": "web"})
        kube.add_pod(ns, "web-a", {"app": "web"})
    kube.add_pod("shop", "db-0", {"app": "db"})
    pods = pods_of(client, "web", PodSelector(labelSelectors={"app": "web"}), spec)
    assert names(pods) == ["shop/web-a", "shop/web-b", "staging/web-a", "staging/web-b"]


def test_expressions_go_to_the_api_as_its_label_selector(tmp_path, kube):
    spec, client = cluster(tmp_path, kube)
    kube.add_pod("shop", "web-1", {"app": "web", "tier": "front"})
    kube.add_pod("shop", "web-2", {"app": "web", "tier": "back"})
    kube.add_pod("shop", "web-3", {"app": "web", "tier": "front", "canary": "yes"})
    selector = PodSelector(
        namespaces=("shop",),
        labelSelectors={"app": "web"},
        expressionSelectors=[
            {"key": "tier", "operator": "In", "values": ["front"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    )
    assert names(pods_of(client, "web", selector, spec)) == ["shop/web-1"]
    (sent,) = kube.requests
    assert sent.url.params["labelSelector"] == "app=web,tier in (front),!canary"


def test_pods_by_name_skip_one_that_is_not_there(tmp_path, kube):
    spec, client = cluster(tmp_path, kube)
    kube.add_pod("staging", "web-1")
    kube.add_pod("shop", "web-1")
    selector = PodSelector(pods={"staging": ["web-1", "web-gone"]})
    assert names(pods_of(client, "web", selector, spec)) == ["staging/web-1"]
    also = PodSelector(namespaces=("shop",), pods={"staging": ["web-1"]})  # names rule
    assert names(pods_of(client, "web", also, spec)) == ["staging/web-1"]


def test_pods_being_deleted_or_finished_are_not_instances(tmp_path, kube):
    spec, client = cluster(tmp_path, kube)
    kube.add_pod("shop", "web-1", {"app": "web"})
    kube.add_pod("shop", "web-2", {"app": "web"})["metadata"]["deletionTimestamp"] = (
        "2026-12-07T20:00:00Z"
    )
    kube.add_pod("shop", "web-3", {"app": "web"}, phase="Succeeded")
    selector = PodSelector(namespaces=("shop",), labelSelectors={"app": "web"})
    assert names(pods_of(client, "web", selector, spec)) == ["shop/web-1"]


@pytest.mark.parametrize(
    "namespace, fields, reason",
    [
        ("other", {}, "namespace other is not in kubernetes.namespaces (shop, staging): list it"),
        ("kube-system", {}, "namespace kube-system is the cluster's own namespace: set kubernetes.allow_system_namespaces: true"),
        ("chaos-mesh", {"chaos_mesh": {}}, "namespace chaos-mesh is Chaos Mesh's namespace: set kubernetes.allow_system_namespaces: true"),
    ],
)  # fmt: skip
def test_a_namespace_it_may_not_touch_is_refused_before_any_call(
    tmp_path, kube, namespace, fields, reason
):
    spec, client = cluster(tmp_path, kube, **fields)
    selector = PodSelector(namespaces=("shop", namespace), labelSelectors={"app": "web"})
    with pytest.raises(Refused) as err:
        pods_of(client, "web", selector, spec)
    assert str(err.value).startswith(f"service web: {reason}")
    assert kube.requests == []


def test_pods_by_name_in_a_namespace_it_may_not_touch_are_refused(tmp_path, kube):
    spec, client = cluster(tmp_path, kube)
    with pytest.raises(Refused, match="service dns: namespace kube-system is the cluster's own"):
        pods_of(client, "dns", PodSelector(pods={"kube-system": ["coredns-1"]}), spec)


def test_system_namespaces_are_reached_when_allowed_and_listed(tmp_path, kube):
    spec, client = cluster(
        tmp_path, kube, namespaces=("shop", "kube-system"), allow_system_namespaces=True
    )
    kube.add_pod("kube-system", "coredns-1", {"app": "dns"})
    selector = PodSelector(namespaces=("kube-system",), labelSelectors={"app": "dns"})
    assert names(pods_of(client, "dns", selector, spec)) == ["kube-system/coredns-1"]


def test_a_pod_on_the_host_network_is_refused_unless_allowed(tmp_path, kube):
    kube.add_pod("shop", "web-1", {"app": "web"})
    kube.add_pod("shop", "web-2", {"app": "web"}, host_network=True)
    selector = PodSelector(labelSelectors={"app": "web"})
    spec, client = cluster(tmp_path, kube)
    with pytest.raises(Refused) as err:
        pods_of(client, "web", selector, spec)
    assert str(err.value) == (
        "service web: pod shop/web-2 runs on the host's network (it shares the node's): set "
        "kubernetes.allow_host_network: true to let an experiment hurt it"
    )
    spec, client = cluster(tmp_path, kube, allow_host_network=True)
    assert names(pods_of(client, "web", selector, spec)) == ["shop/web-1", "shop/web-2"]
