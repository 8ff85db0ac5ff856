"""The Kubernetes runtime on the real test bed: a Deployment of three kwok pods listed and
Ready; one killed, its replacement found (by another process too), Ready and timed, and
a sibling created just before the kill never taken for it; a token bound to no role, or
to a read-only one, refused naming the verb, resource and namespace; the control plane
alive (and not, once the way to it is gone)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.errors import Refused
from harness.runtime.base import Endpoints
from harness.runtime.kubernetes.runtime import KubernetesRuntime, uid_of
from harness.specs.kubernetes import KubernetesSpec, PodSelector
from tests.k8s.kubeapi import KubeApi
from tests.k8s.pki import Credentials
from tests.k8s.testbed import TestBed
from tests.k8s.workloads import apply_deployment, await_ready, uids
from tests.waiting import wait_for

NAMESPACE = "rt-shop"
READ_ONLY = "rt-readonly"  # the limited user may read pods here, not delete them
ENDPOINTS = Endpoints("http://prom.test", "http://am.test", "http://receiver.test")
WEB = {"web": PodSelector(labelSelectors={"app": "web"})}

pytestmark = pytest.mark.slow


def runtime_on(kubeconfig: Path, namespace: str, tmp_path: Path, **fields) -> KubernetesRuntime:
    fields.setdefault("request_timeout", 5)
    spec = KubernetesSpec(kubeconfig=kubeconfig, namespaces=(namespace,), **fields)
    return KubernetesRuntime(spec, WEB, ENDPOINTS, tmp_path, run_dir=tmp_path)


@pytest.fixture(scope="module")
def api(k8s_bed: TestBed):
    api = k8s_bed.api()
    yield api
    api.close()


def test_instances_are_the_ready_pods_by_uid(k8s_bed, api, tmp_path):
    apply_deployment(api, NAMESPACE, "web", replicas=3)
    pods = await_ready(api, NAMESPACE, "web", 3)
    rt = runtime_on(k8s_bed.kubeconfig, NAMESPACE, tmp_path)
    found = wait_for(lambda: len(i := rt.instances()) == 3 and i, 10, "3 instances")
    assert {i.name for i in found} == {f"{NAMESPACE}/{p['metadata']['name']}" for p in pods}
    assert {uid_of(i) for i in found} == uids(pods)
    assert [i.name for i in found] == sorted(i.name for i in found)
    assert all(rt.ready(i) for i in found) and rt.control_plane_alive()


def test_a_kill_is_replaced_timed_and_never_by_a_sibling(k8s_bed, api, tmp_path):
    apply_deployment(api, NAMESPACE, "web", replicas=3)
    await_ready(api, NAMESPACE, "web", 3)
    apply_deployment(api, NAMESPACE, "web", replicas=4)  # the newest sibling: just before
    siblings = uids(await_ready(api, NAMESPACE, "web", 4))
    rt = runtime_on(k8s_bed.kubeconfig, NAMESPACE, tmp_path)
    victim = rt.instances()[0]
    assert rt.signal(victim, "SIGKILL")
    assert rt.signal(victim, "SIGKILL") is False  # gone: nothing to kill twice
    new = wait_for(lambda: rt.replacement(victim), 20, "a replacement", interval=0.02)
    assert uid_of(new) not in siblings and new.service == "web"
    recover = runtime_on(k8s_bed.kubeconfig, NAMESPACE, tmp_path)  # another process: the files
    assert recover.replacement(victim) == new
    timing = wait_for(lambda: (t := rt.kill_timing(victim)) and t.ready is not None and t, 20,
                      "the replacement Ready", interval=0.02)  # fmt: skip
    assert timing.replacement == new.name and timing.replacement_identity == new.identity
    assert 0 <= timing.created <= timing.running <= timing.ready < 10
    assert rt.ready(new) and len(rt.instances()) == 4
    print(f"kill -> replacement created {timing.created} s, Running {timing.running} s, "
          f"Ready {timing.ready} s")  # fmt: skip
    apply_deployment(api, NAMESPACE, "web", replicas=3)


def test_sigterm_deletes_with_the_grace_period_and_stop_does_nothing(k8s_bed, api, tmp_path):
    apply_deployment(api, NAMESPACE, "web", replicas=3)
    await_ready(api, NAMESPACE, "web", 3)
    rt = runtime_on(k8s_bed.kubeconfig, NAMESPACE, tmp_path)
    victim = rt.instances()[-1]
    assert rt.signal(victim, "SIGSTOP") is False and victim in rt.instances()
    assert rt.signal(victim, "SIGTERM")
    new = wait_for(lambda: rt.replacement(victim), 40, "a replacement", interval=0.05)
    wait_for(lambda: rt.ready(new), 20, "the replacement Ready")
    assert victim not in rt.instances()


def test_a_token_without_the_role_is_refused_naming_verb_resource_namespace(k8s_bed, tmp_path):
    rt = runtime_on(k8s_bed.limited_kubeconfig, NAMESPACE, tmp_path)
    with pytest.raises(Refused) as err:
        rt.instances()
    assert str(err.value) == (
        f"the API server refused to list pods in namespace {NAMESPACE} for user "
        f"{Credentials.LIMITED_USER}: give the harness's account the Role in docs/kubernetes.md"
    )


def test_a_token_that_may_read_but_not_delete_is_refused_at_the_delete(k8s_bed, api, tmp_path):
    apply_deployment(api, READ_ONLY, "web", replicas=1)
    _grant_read(api, READ_ONLY, Credentials.LIMITED_USER)
    (pod,) = await_ready(api, READ_ONLY, "web", 1)
    rt = runtime_on(k8s_bed.limited_kubeconfig, READ_ONLY, tmp_path)
    victim = wait_for(lambda: _listed(rt), 10, "the role to take effect")[0]
    with pytest.raises(Refused, match=rf"refused to delete pods in namespace {READ_ONLY} for "
                       rf"user {Credentials.LIMITED_USER}: give"):  # fmt: skip
        rt.signal(victim, "SIGKILL")
    assert uids(await_ready(api, READ_ONLY, "web", 1)) == {pod["metadata"]["uid"]}


def test_the_control_plane_is_not_alive_where_nothing_answers(k8s_bed, tmp_path):
    port = _closed_port()
    config = tmp_path / "gone.kubeconfig"
    text = k8s_bed.kubeconfig.read_text().replace(k8s_bed.server, f"https://127.0.0.1:{port}")
    config.write_text(text)
    rt = runtime_on(config, NAMESPACE, tmp_path, request_timeout=1)  # asked again for 1 s
    assert rt.control_plane_alive() is False
    assert runtime_on(k8s_bed.kubeconfig, NAMESPACE, tmp_path).control_plane_alive()


def _grant_read(api: KubeApi, namespace: str, user: str) -> None:
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    api.apply(f"{rbac}/roles/pod-reader", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "pod-reader", "namespace": namespace},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
    })  # fmt: skip
    api.apply(f"{rbac}/rolebindings/pod-reader", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "pod-reader", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    })  # fmt: skip


def _listed(rt: KubernetesRuntime) -> list | None:
    try:
        return rt.instances()
    except Refused:  # the binding is not in the authorizer's cache yet
        return None


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
