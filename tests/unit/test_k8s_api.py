"""What a failed call to the API server becomes: a 403 a refusal naming verb, resource,
namespace and user and where the Role is; anything else a stack error naming the call."""

from __future__ import annotations

import httpx2
import pytest
from lightkube.resources.core_v1 import Pod

from harness.errors import Refused, StackError
from harness.runtime.kubernetes.api import calling, request
from harness.runtime.kubernetes.connect import connect
from harness.specs.kubernetes import KubernetesSpec
from tests.fakekube import TOKEN, FakeKube, write_kubeconfig


@pytest.fixture
def kube() -> FakeKube:
    return FakeKube()


@pytest.fixture
def client(kube, tmp_path):
    write_kubeconfig(tmp_path / "config")
    spec = KubernetesSpec(namespaces=("shop",), kubeconfig="config", request_timeout=2)
    return connect(spec, tmp_path, transport=kube.transport)


def test_a_403_is_a_refusal_naming_verb_resource_namespace_user_and_the_role(kube, client):
    kube.add_pod("shop", "web-1")
    kube.forbidden.add(("DELETE", "shop"))
    with pytest.raises(Refused) as err, calling("delete", "pods", "shop"):
        request(client, "DELETE", "api/v1/namespaces/shop/pods/web-1", body={})
    assert str(err.value) == (
        "the API server refused to delete pods in namespace shop for user limited: give the "
        "harness's account the Role in docs/kubernetes.md"
    )
    assert ("shop", "web-1") in kube.pods  # nothing was deleted


def test_a_403_through_lightkube_s_own_calls_too(kube, client):
    kube.forbidden.add(("GET", "shop"))
    refused = pytest.raises(
        Refused, match=r"refused to get pods in namespace shop for user limited"
    )
    with refused, calling("get", "pods", "shop"):
        client.get(Pod, "web-1", namespace="shop")


def test_another_error_status_is_a_stack_error_naming_the_call(kube, client):
    failed = pytest.raises(StackError, match=r"answered 404 to get pods in namespace shop: web-9")
    with failed, calling("get", "pods", "shop"):
        client.get(Pod, "web-9", namespace="shop")


def test_a_timeout_is_a_stack_error_naming_the_call(kube, client):
    def hang(request: httpx2.Request) -> None:
        raise httpx2.ReadTimeout("timed out", request=request)

    kube.hook = hang
    with pytest.raises(StackError) as err, calling("list", "pods", "shop"):
        request(client, "GET", "api/v1/namespaces/shop/pods")
    assert (
        str(err.value)
        == "the Kubernetes API server did not answer list pods in namespace shop in time"
    )


def test_a_connection_refused_is_a_stack_error_and_never_shows_the_token(kube, client):
    def refuse(request: httpx2.Request) -> None:
        raise httpx2.ConnectError("connection refused", request=request)

    kube.hook = refuse
    with pytest.raises(StackError) as err, calling("delete", "pods", "shop"):
        request(client, "DELETE", "api/v1/namespaces/shop/pods/web-1")
    assert "could not be reached to delete pods in namespace shop" in str(err.value)
    assert TOKEN not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_an_error_that_is_not_the_api_s_own_is_a_stack_error_with_its_status(kube, client):
    kube.hook = lambda request: httpx2.Response(502, content=b"bad gateway")  # no Content-Type
    failed = pytest.raises(StackError, match=r"reached to get pods in namespace shop: HTTPStatus")
    with failed, calling("get", "pods", "shop"):
        request(client, "GET", "api/v1/namespaces/shop/pods/web-1")
