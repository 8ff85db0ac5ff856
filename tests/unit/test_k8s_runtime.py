"""The Kubernetes runtime on an API server in memory: instances are live pods by uid; a
kill is a delete with a uid precondition (never the successor); the replacement is a
new pod of the same owner, never a sibling that was already there; describe() carries
no secret. The test plays the ReplicaSet: it adds the replacement pods itself."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx2
import pytest
from pydantic import TypeAdapter

from harness.faults import FAULT_TYPES, NETWORK_FAULTS, FaultSpec
from harness.faults.chaos import ChaosObject
from harness.runtime import runtime_for, runtime_from
from harness.runtime.base import Endpoints, Instance
from harness.runtime.kubernetes.chaosmesh import ChaosMesh
from harness.runtime.kubernetes.connect import connect
from harness.runtime.kubernetes.kills import KILLS_FILE, Kill, KillBook
from harness.runtime.kubernetes.runtime import KubernetesRuntime
from harness.specs.kubernetes import KubernetesSpec, PodSelector
from harness.specs.topology import load_topology
from tests.fakekube import TOKEN, FakeKube, write_kubeconfig
from tests.fakeruntime import FakePlanned

ENDPOINTS = Endpoints("http://prom.test", "http://am.test", "http://receiver.test")
SERVICES = {
    "web": PodSelector(namespaces=("shop",), labelSelectors={"app": "web"}),
    "db": PodSelector(pods={"shop": ("db-0",)}),
}


@pytest.fixture
def kube() -> FakeKube:
    kube = FakeKube()
    kube.add_pod("shop", "web-b", {"app": "web"}, owner="rs-1")
    kube.add_pod("shop", "web-a", {"app": "web"}, owner="rs-1", grace=7)
    kube.add_pod("shop", "db-0", {"app": "db"}, owner="sts-1", ready=False)
    return kube


def runtime(tmp_path, kube, run_dir=None, **fields) -> KubernetesRuntime:
    write_kubeconfig(tmp_path / "config")
    spec = KubernetesSpec(namespaces=("shop",), kubeconfig="config", **fields)
    stack = tmp_path / "stack.yaml"
    rt = KubernetesRuntime(spec, SERVICES, ENDPOINTS, tmp_path, stack, run_dir=run_dir)
    rt._client = connect(spec, tmp_path, transport=kube.transport)
    return rt


def by_name(rt, name) -> Instance:
    return next(i for i in rt.instances() if i.name == name)


def test_instances_are_live_pods_in_service_order_then_name(tmp_path, kube):
    rt = runtime(tmp_path, kube)
    found = rt.instances()
    assert [(i.service, i.name) for i in found] == [
        ("web", "shop/web-a"), ("web", "shop/web-b"), ("db", "shop/db-0"),
    ]  # fmt: skip
    assert [i.identity for i in found] == ["uid:uid-2", "uid:uid-1", "uid:uid-3"]
    assert rt.instances("db") == found[2:] and rt.instances("nothing") == []


def test_ready_is_that_uid_s_pod_with_condition_ready(tmp_path, kube, monkeypatch):
    monkeypatch.setattr("harness.runtime.kubernetes.runtime.FRESH", 0.0)  # always asked
    rt = runtime(tmp_path, kube)
    web_a, db = by_name(rt, "shop/web-a"), by_name(rt, "shop/db-0")
    assert rt.ready(web_a) and not rt.ready(db)
    kube.add_pod("shop", "web-a", {"app": "web"}, owner="rs-1")  # same name, another pod
    assert not rt.ready(web_a)


def test_ready_of_pods_just_listed_is_read_from_the_listing(tmp_path, kube, monkeypatch):
    rt = runtime(tmp_path, kube)
    found = rt.instances()
    calls = len(kube.requests)
    assert [rt.ready(i) for i in found] == [True, True, False]
    assert len(kube.requests) == calls  # preflight's count of ready pods: one listing
    monkeypatch.setattr("harness.runtime.kubernetes.runtime.FRESH", 0.0)  # now stale
    kube.pods[("shop", "web-a")]["status"]["conditions"][0]["status"] = "False"
    assert rt.ready(found[0]) is False and len(kube.requests) == calls + 1


def test_a_slow_listing_of_many_services_is_fresh_from_when_it_ended(tmp_path, kube, monkeypatch):
    import harness.runtime.kubernetes.runtime as module

    rt = runtime(tmp_path, kube)
    now = [100.0]
    listing = module.pods_of

    def slow_listing(*args, **kwargs):  # each service's listing takes 3 s (FRESH is 2)
        now[0] += 3.0
        return listing(*args, **kwargs)

    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(module, "pods_of", slow_listing)
    found = rt.instances()  # web listed at 103, db at 106: one snapshot, fresh from 106
    calls = len(kube.requests)
    now[0] += 1.0
    assert [rt.ready(i) for i in found] == [True, True, False]
    assert len(kube.requests) == calls  # no pod got again, though web's is 4 s old


def test_sigkill_deletes_with_grace_0_and_the_uid_as_precondition(tmp_path, kube):
    rt = runtime(tmp_path, kube)
    assert rt.signal(by_name(rt, "shop/web-b"), "SIGKILL")
    (delete,) = kube.deletes()
    assert delete["gracePeriodSeconds"] == 0 and delete["preconditions"] == {"uid": "uid-1"}
    assert ("shop", "web-b") not in kube.pods


def test_sigterm_deletes_with_the_pod_s_own_grace_period_else_the_default(tmp_path, kube):
    rt = runtime(tmp_path, kube)
    assert rt.signal(by_name(rt, "shop/web-a"), "SIGTERM")
    assert rt.signal(by_name(rt, "shop/web-b"), "SIGTERM")
    assert [d["gracePeriodSeconds"] for d in kube.deletes()] == [7, 30]
    assert rt.instances("web") == []  # terminating: no longer instances


def test_a_successor_under_the_same_name_is_never_hit(tmp_path, kube):
    rt = runtime(tmp_path, kube)
    old = by_name(rt, "shop/db-0")
    del kube.pods[("shop", "db-0")]
    kube.add_pod("shop", "db-0", {"app": "db"}, owner="sts-1")
    assert rt.signal(old, "SIGKILL") is False
    assert kube.deletes() == [] and ("shop", "db-0") in kube.pods


def test_the_api_s_conflict_or_not_found_means_gone(tmp_path, kube):
    """Between the read and the delete the pod changed: the precondition holds the line."""
    rt = runtime(tmp_path, kube)
    old = by_name(rt, "shop/web-a")

    def swap_before_delete(request):
        if request.method == "DELETE":
            kube.add_pod("shop", "web-a", {"app": "web"}, owner="rs-1")

    kube.hook = swap_before_delete
    assert rt.signal(old, "SIGKILL") is False
    assert ("shop", "web-a") in kube.pods  # the successor lives


@pytest.mark.parametrize("sig", ["SIGSTOP", "SIGCONT", "SIGHUP"])
def test_stop_and_continue_do_nothing_here(tmp_path, kube, sig):
    rt = runtime(tmp_path, kube)
    web = by_name(rt, "shop/web-a")
    kube.requests.clear()
    assert rt.signal(web, sig) is False
    assert kube.requests == []


def test_the_replacement_is_a_new_pod_of_the_owner_never_a_sibling(tmp_path, kube):
    rt = runtime(tmp_path, kube)
    victim = by_name(rt, "shop/web-a")
    assert rt.replacement(victim) is None  # still itself
    kube.add_pod("shop", "web-0", {"app": "web"}, owner="rs-1")  # a sibling, before the kill
    kube.add_pod("shop", "other-1", {"app": "web"}, owner="rs-2")  # another owner's
    assert rt.signal(victim, "SIGKILL")
    assert rt.replacement(victim) is None  # siblings (web-0, web-b) and rs-2 are not it
    new = kube.add_pod("shop", "web-z", {"app": "web"}, owner="rs-1")
    found = rt.replacement(victim)
    assert found == Instance("web", "shop/web-z", f"uid:{new['metadata']['uid']}")
    assert rt.replacement(found) is None


def test_two_pods_of_one_owner_killed_together_have_two_distinct_replacements(tmp_path, kube):
    rt = runtime(tmp_path, kube)
    first, second = by_name(rt, "shop/web-a"), by_name(rt, "shop/web-b")
    assert rt.signal(first, "SIGKILL") and rt.signal(second, "SIGKILL")
    one = kube.add_pod("shop", "web-y", {"app": "web"}, owner="rs-1")
    assert rt.replacement(second) is None  # web-y went to the pod killed first
    assert rt.replacement(first).name == "shop/web-y"
    two = kube.add_pod("shop", "web-z", {"app": "web"}, owner="rs-1")
    assert rt.replacement(second).name == "shop/web-z"
    assert rt.replacement(first).identity == f"uid:{one['metadata']['uid']}"  # kept
    stages = [rt.kill_timing(i) for i in (first, second)]
    assert {t.replacement_identity for t in stages} == {
        f"uid:{one['metadata']['uid']}",
        f"uid:{two['metadata']['uid']}",
    }


def test_a_pod_created_before_the_delete_by_the_server_s_clock_is_not_it(tmp_path, kube):
    rt = runtime(tmp_path, kube)
    victim = by_name(rt, "shop/web-a")
    rt.signal(victim, "SIGKILL")
    kube.now -= timedelta(seconds=2)  # a second is allowed for whole-second clocks
    kube.add_pod("shop", "web-old", {"app": "web"}, owner="rs-1")  # unseen, yet older
    assert rt.replacement(victim) is None


def test_the_same_name_with_a_new_uid_is_the_replacement(tmp_path, kube):
    rt = runtime(tmp_path, kube)
    old = by_name(rt, "shop/db-0")
    assert rt.signal(old, "SIGKILL")
    new = kube.add_pod("shop", "db-0", {"app": "db"}, owner="sts-1")
    assert rt.replacement(old) == Instance("db", "shop/db-0", f"uid:{new['metadata']['uid']}")


def test_a_pod_killed_by_someone_else_is_replaced_by_what_was_not_its_sibling(tmp_path, kube):
    """Chaos Mesh's pod-kill: the runtime knows the owner and siblings as last listed."""
    rt = runtime(tmp_path, kube)
    victim = by_name(rt, "shop/web-a")
    del kube.pods[("shop", "web-a")]
    assert rt.replacement(victim) is None
    new = kube.add_pod("shop", "web-c", {"app": "web"}, owner="rs-1")
    assert rt.replacement(victim).identity == f"uid:{new['metadata']['uid']}"


def test_another_process_finds_the_same_replacement_through_the_run_directory(tmp_path, kube):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    victim = by_name(runtime(tmp_path, kube, run_dir), "shop/web-a")
    harness = runtime(tmp_path, kube, run_dir)
    harness.instances()
    kube.add_pod("shop", "web-0", {"app": "web"}, owner="rs-1")  # a sibling, before the kill
    assert harness.signal(victim, "SIGKILL")
    (first, second) = [json.loads(line) for line in (run_dir / KILLS_FILE).read_text().splitlines()]
    assert first["server_at"] is None and second["server_at"] is not None  # before, after
    recover = runtime(tmp_path, kube, run_dir)  # knows nothing but the directory
    assert recover.replacement(victim) is None
    new = kube.add_pod("shop", "web-9", {"app": "web"}, owner="rs-1")
    assert recover.replacement(victim).identity == f"uid:{new['metadata']['uid']}"


def test_kill_timings_measure_created_running_ready(tmp_path, kube):
    rt = runtime(tmp_path, kube)
    victim = by_name(rt, "shop/web-a")
    assert rt.kill_timing(victim) is None  # not killed by this runtime
    rt.signal(victim, "SIGKILL")
    timing = rt.kill_timing(victim)
    assert (timing.killed, timing.signal, timing.replacement, timing.ready) == (
        "shop/web-a", "SIGKILL", None, None,
    )  # fmt: skip
    new = kube.add_pod("shop", "web-n", {"app": "web"}, owner="rs-1", ready=False, phase="Pending")
    timing = rt.kill_timing(victim)
    assert timing.replacement == "shop/web-n" and timing.created is not None
    assert timing.running is None and timing.ready is None
    new["status"]["phase"] = "Running"
    new["status"]["conditions"][0]["status"] = "True"
    timing = rt.kill_timing(victim)
    assert 0 <= timing.created <= timing.running <= timing.ready < 1.0
    assert timing.to_json()["replacement_identity"] == f"uid:{new['metadata']['uid']}"
    assert rt.kill_timing(victim) == timing  # complete: asked again, the same


def test_control_plane_alive_is_readyz_answering(tmp_path, kube):
    rt = runtime(tmp_path, kube, request_timeout=0.5)
    assert rt.control_plane_alive()
    assert [r.url.path for r in kube.requests] == ["/readyz"]


def test_one_dropped_connection_is_not_a_control_plane_gone(tmp_path, kube):
    rt = runtime(tmp_path, kube, request_timeout=0.5)
    drops = iter([True])

    def drop_once(request):
        if next(drops, False):
            raise httpx2.ConnectError("connection reset", request=request)

    kube.hook = drop_once
    assert rt.control_plane_alive()


def test_no_answer_within_the_request_timeout_is_a_control_plane_gone(tmp_path, kube):
    rt = runtime(tmp_path, kube, request_timeout=0.5)

    def gone(request):
        raise httpx2.ConnectError("connection refused", request=request)

    kube.hook = gone
    began = time.monotonic()
    assert rt.control_plane_alive() is False
    assert 0.5 <= time.monotonic() - began < 2
    assert len(kube.requests) >= 2  # asked again before giving up


def test_supported_faults_grow_with_toxiproxy_and_chaos_mesh(tmp_path, kube):
    rt = runtime(tmp_path, kube)
    assert rt.supported_faults() == {"kill", "terminate"}
    assert rt.fault_objects() is None and rt.own_actions(None, None, "run") is None  # type: ignore[arg-type]
    rt._endpoints = Endpoints("http://p.test", "http://a.test", "http://r.test", "http://t.test")
    assert rt.supported_faults() == {"kill", "terminate", *NETWORK_FAULTS}
    mesh = runtime(tmp_path, kube, chaos_mesh={})
    assert mesh.supported_faults() == {
        "kill", "terminate", "pause", "cpu_stress", "latency", "blackhole", "bandwidth",
    }  # fmt: skip
    assert mesh.supported_faults() <= set(FAULT_TYPES)


def test_describe_names_files_and_never_a_secret(tmp_path, kube):
    run_dir = tmp_path / "run"
    rt = runtime(tmp_path, kube, run_dir)
    rt.instances()
    described = rt.describe()
    assert described == {
        "kind": "kubernetes",
        "stack_file": str((tmp_path / "stack.yaml").resolve()),
        "run_dir": str(run_dir.resolve()),
    }
    assert TOKEN not in json.dumps(described)


def test_no_client_is_made_until_one_is_needed(tmp_path):
    spec = KubernetesSpec(namespaces=("shop",), kubeconfig="absent")
    rt = KubernetesRuntime(spec, SERVICES, ENDPOINTS, tmp_path)
    assert rt.describe()["kind"] == "kubernetes" and rt.supported_faults()


def test_with_chaos_mesh_a_pod_kill_is_its_object_and_its_pods_are_remembered(tmp_path, kube):
    """Chaos Mesh deletes the pods: the runtime still finds their replacements, in
    another process too, never taking a sibling, and times them."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    rt = runtime(tmp_path, kube, run_dir, chaos_mesh={})
    assert isinstance(rt.fault_objects(), ChaosMesh)
    kill = TypeAdapter(FaultSpec).validate_python({"type": "kill", "target": "web", "duration": 5})
    (action,) = rt.own_actions(kill, FakePlanned(0, ("shop/web-a",)), "20261207T203000-ab12")
    assert isinstance(action, ChaosObject) and action.manifest["spec"]["action"] == "pod-kill"
    (victim,) = action.killed
    assert kube.deletes() == []  # Chaos Mesh deletes it, not the runtime
    del kube.pods[("shop", "web-a")]  # as its controller does
    kube.add_pod("shop", "web-0", {"app": "web"}, owner="rs-1")  # the ReplicaSet's new pod
    recover = runtime(tmp_path, kube, run_dir, chaos_mesh={})
    new = recover.replacement(victim)
    assert new is not None and new.name == "shop/web-0"  # web-b, there before, is not it
    timing = rt.kill_timing(victim)
    assert timing.signal == "pod-kill" and timing.replacement == "shop/web-0"
    assert timing.ready is not None


def test_the_factory_builds_it_from_a_topology_and_again_from_its_description(tmp_path, kube):
    write_kubeconfig(tmp_path / "kubeconfig")
    stack = tmp_path / "cluster.yaml"
    stack.write_text(
        "version: harness/v1\nruntime: kubernetes\n"
        "kubernetes: {kubeconfig: kubeconfig, namespaces: [shop]}\n"
        "prometheus: {url: 'http://127.0.0.1:9090/'}\n"
        "services:\n"
        "  web: {selector: {labelSelectors: {app: web}}, url: 'http://127.0.0.1:8080'}\n"
        "  db: {selector: {pods: {shop: [db-0]}}}\n"
    )
    first = runtime_for(load_topology(stack), stack, tmp_path)
    rt = runtime_from(first.describe())  # as the watchdog and recover rebuild it
    assert isinstance(rt, KubernetesRuntime)
    assert rt.describe() == first.describe() == {
        "kind": "kubernetes", "stack_file": str(stack.resolve()), "run_dir": str(tmp_path.resolve()),
    }  # fmt: skip
    assert rt.endpoints().prometheus == "http://127.0.0.1:9090" and rt.endpoints().toxiproxy is None
    rt._client = connect(rt.spec, rt.base_dir, transport=kube.transport)
    assert [(i.service, i.name) for i in rt.instances()] == [
        ("web", "shop/web-a"), ("web", "shop/web-b"), ("db", "shop/db-0"),
    ]  # fmt: skip


def test_the_kills_file_is_read_as_it_grows_and_a_cut_line_is_skipped(tmp_path):
    writer, reader = KillBook(tmp_path), KillBook(tmp_path)
    assert reader.get("u1") is None
    writer.add(Kill("u1", "shop/web-a", "SIGKILL", "rs-1", ("u1", "u2"), 1.0))
    with (tmp_path / KILLS_FILE).open("a") as f:
        f.write('{"uid": "u2", "na')  # the harness died mid-line
    assert reader.get("u1").siblings == ("u1", "u2") and reader.get("u2") is None
    with (tmp_path / KILLS_FILE).open("a") as f:
        f.write("\n")
    writer.add(Kill("u3", "shop/web-b", "SIGTERM", None, (), 2.0, server_at=2.0))
    assert reader.get("u3").server_at == 2.0 and reader.get("u2") is None
