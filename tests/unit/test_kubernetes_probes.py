"""Kubernetes probes: a workload read through a lightkube client (an API in memory, on
httpx2.MockTransport), compared with a threshold; never a pass when it cannot be read."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2
import pytest
from lightkube import Client, KubeConfig
from pydantic import TypeAdapter

from harness.errors import InvalidInput, Refused
from harness.experiment.probesupport import refuse_unreadable_probes
from harness.experiment.run import run_experiment
from harness.probes.kubernetes import KubernetesProbes, client_of, describe
from harness.probes.lookback import settle_of
from harness.report import write_junit
from harness.report.plots import Frame, probe_chart
from harness.specs.experiment import Experiment, load_experiment
from harness.specs.probes import AnyProbe, KubernetesProbe
from harness.specs.yamlload import parse_model
from tests.fakeruntime import FakeRuntime
from tests.unit.engineworld import assert_finished, events, names
from tests.unit.test_cli_usage import ROOT, harness
from tests.unit.test_spec_and_plan import EXAMPLE

NS = "shop"
KUBECONFIG = KubeConfig.from_dict(
    {
        "clusters": [{"name": "c", "cluster": {"server": "https://k8s.test"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
)


def _pod(name: str, ready: bool = True, restarts: int = 0, deleting: bool = False) -> dict:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "uid": f"uid-{name}"}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-07T20:00:00Z"
    return {
        "metadata": meta,
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [
                {
                    "name": "app",
                    "restartCount": restarts,
                    "ready": ready,
                    "image": "x",
                    "imageID": "",
                }
            ],
        },
    }


class Cluster:
    """The API's answers: workloads by (kind plural, name), pods, and a forced status."""

    def __init__(self) -> None:
        self.workloads: dict[tuple[str, str], dict] = {}
        self.pods: list[dict] = []
        self.status: int | None = None  # answer every request with this code
        self.down = False
        self.selectors: list[str] = []

    def deployment(self, name: str, replicas: int, selector: dict | None = None) -> None:
        self.workloads[("deployments", name)] = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {
                "replicas": replicas,
                "selector": selector or {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}},
            },
        }

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        if self.down:
            raise httpx2.ConnectError("connection refused", request=request)
        if self.status is not None:
            status = {"kind": "Status", "code": self.status, "message": "forbidden: no role"}
            return httpx2.Response(self.status, json=status)
        parts = request.url.path.strip("/").split("/")
        if parts[-1] == "pods":
            self.selectors.append(request.url.params.get("labelSelector", ""))
            return httpx2.Response(200, json={"kind": "PodList", "items": self.pods})
        found = self.workloads.get((parts[-2], parts[-1]))
        if found is None:
            status = {"kind": "Status", "code": 404, "message": f"{parts[-1]} not found"}
            return httpx2.Response(404, json=status)
        return httpx2.Response(200, content=json.dumps(found))

    def client(self) -> Client:
        return Client(KUBECONFIG, transport=httpx2.MockTransport(self.handler))


def _probe(metric: str = "ready_replicas", op: str = ">=", threshold: float = 3, **kw: Any):
    reading = {"workload": {"kind": "Deployment", "namespace": NS, "name": "orders"}}
    data = {"name": "orders_up", "op": op, "threshold": threshold}
    return KubernetesProbe.model_validate(
        {**data, "kubernetes": {**reading, "metric": metric, **kw}}
    )


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster()
    c.deployment("orders", 3)
    c.pods = [_pod("orders-a"), _pod("orders-b"), _pod("orders-c", restarts=2)]
    return c


def test_ready_replicas_counts_ready_pods_not_being_deleted(cluster):
    probes = KubernetesProbes()
    result = probes.evaluate(_probe(), cluster.client())
    assert (result.status, result.value) == ("pass", 3.0)
    assert result.query == "Deployment shop/orders ready replicas"
    assert result.detail == "3 of 3 ready; 3 pods"
    assert cluster.selectors == ["app=orders"]

    cluster.pods[0] = _pod("orders-a", deleting=True)
    cluster.pods[1] = _pod("orders-b", ready=False)
    result = probes.evaluate(_probe(), cluster.client())
    assert (result.status, result.value) == ("fail", 1.0)
    assert "1 of 3 ready" in result.summary()


def test_unready_replicas_is_desired_less_ready_never_below_zero(cluster):
    probe = _probe("unready_replicas", "<=", 0)
    assert KubernetesProbes().evaluate(probe, cluster.client()).value == 0.0
    cluster.pods.append(_pod("orders-surge"))  # a rollout's surge: 4 ready of 3
    assert KubernetesProbes().evaluate(probe, cluster.client()).value == 0.0
    cluster.pods[:2] = [_pod("orders-a", ready=False)]
    result = KubernetesProbes().evaluate(probe, cluster.client())
    assert (result.status, result.value) == ("fail", 1.0)
    assert result.query == "Deployment shop/orders unready replicas"


def test_restarts_sums_restart_counts_of_the_pods_there_are(cluster):
    probe = _probe("restarts", "<=", 1)
    result = KubernetesProbes().evaluate(probe, cluster.client())
    assert (result.status, result.value, result.detail) == ("fail", 2.0, "3 pods")
    assert result.query == "Deployment shop/orders container restarts"


def test_restarts_over_a_window_is_the_increase_since_a_reading_that_old(cluster):
    probe = _probe("restarts", "<=", 0, window=5)
    assert describe(probe) == "Deployment shop/orders container restarts over the last 5s"
    probes, client = KubernetesProbes(), cluster.client()
    first = probes.evaluate(probe, client, now=100.0)
    assert (first.status, first.value, first.ok) == ("pending", None, False)
    assert first.detail == "read for 0.0 s of its 5 s window so far"
    assert probes.evaluate(probe, client, now=103.0).status == "pending"
    # 5 s on: orders-c's 2 restarts predate the window; nothing restarted since
    result = probes.evaluate(probe, client, now=105.0)
    assert (result.status, result.value) == ("pass", 0.0)
    assert result.detail == "since the reading 5.0 s ago; 3 pods"
    # orders-a restarts once; orders-b is replaced by a pod that has restarted twice
    cluster.pods[:2] = [_pod("orders-a", restarts=1), _pod("orders-new", restarts=2)]
    result = probes.evaluate(probe, client, now=107.0)
    assert (result.status, result.value) == ("fail", 3.0)
    # the new pod's restarts leave the window, the gone pod's are never counted twice
    cluster.pods = cluster.pods[1:]  # orders-a gone after its restart was seen
    assert probes.evaluate(probe, client, now=110.0).value == 3.0
    assert probes.evaluate(probe, client, now=113.0).value == 0.0


def test_a_missing_workload_is_no_data(cluster):
    probe = _probe()
    cluster.workloads.clear()
    result = KubernetesProbes().evaluate(probe, cluster.client())
    assert (result.status, result.value, result.ok) == ("no data", None, False)
    assert result.detail == "Deployment shop/orders not found"


def test_a_refusal_or_an_api_that_does_not_answer_is_an_error(cluster):
    cluster.status = 403
    result = KubernetesProbes().evaluate(_probe(), cluster.client())
    assert (result.status, result.ok) == ("error", False)
    assert result.detail == (
        "refused (403): cannot get deployments and list pods in namespace shop: forbidden: no role"
    )
    cluster.status = 500
    assert "answered 500" in KubernetesProbes().evaluate(_probe(), cluster.client()).detail
    cluster.status, cluster.down = None, True
    result = KubernetesProbes().evaluate(_probe(), cluster.client())
    assert (result.status, result.value) == ("error", None)
    assert result.detail.startswith("the Kubernetes API did not answer (ConnectError")


def test_no_client_is_an_error_never_a_pass():
    result = KubernetesProbes().evaluate(_probe(), None)
    assert (result.status, result.ok) == ("error", False)
    assert "not kubernetes" in result.detail


def test_client_of_takes_only_a_lightkube_client(cluster):
    class Runtime:
        client = cluster.client()

    assert client_of(Runtime()) is Runtime.client
    assert client_of(object()) is None
    Runtime.client = "not a client"  # type: ignore[assignment]
    assert client_of(Runtime()) is None


def test_match_expressions_and_daemonset_desired(cluster):
    cluster.workloads[("daemonsets", "agent")] = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": NS},
        "spec": {
            "selector": {
                "matchLabels": {"app": "agent"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["b", "a"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
            "template": {},
        },
        "status": {
            "desiredNumberScheduled": 4,
            "currentNumberScheduled": 4,
            "numberMisscheduled": 0,
            "numberReady": 4,
        },
    }
    probe = KubernetesProbe.model_validate(
        {
            "name": "agents",
            "kubernetes": {
                "workload": {"kind": "DaemonSet", "namespace": NS, "name": "agent"},
                "metric": "unready_replicas",
            },
            "op": "==",
            "threshold": 1,
        }
    )
    result = KubernetesProbes().evaluate(probe, cluster.client())
    assert (result.status, result.value) == ("pass", 1.0)  # 3 ready pods of 4 desired
    assert cluster.selectors == ["app=agent,tier in (a,b),!canary"]


def test_the_probe_kind_is_chosen_by_its_kubernetes_key():
    adapter = TypeAdapter(AnyProbe)
    probe = adapter.validate_python(_probe().model_dump())
    assert isinstance(probe, KubernetesProbe)
    assert settle_of(probe, 1.0).seconds == 0.0  # a reading of now reaches back nothing
    windowed = _probe("restarts", "<=", 0, window=4)
    assert (settle_of(windowed, 1.0).seconds, settle_of(windowed, 1.0).basis) == (4.0, "4 s window")


def _with_probe(probe: str, where: str = "steady_state:\n") -> str:
    return EXAMPLE.read_text().replace(where, where + probe, 1)


KUBE = (
    "  - name: orders_ready\n"
    "    kubernetes:\n"
    "      workload: {kind: Deployment, namespace: shop, name: orders}\n"
    "      metric: %s\n"
    "    op: '>='\n"
    "    threshold: 3\n"
)


def test_an_experiment_takes_kubernetes_probes_beside_the_others():
    exp = parse_model(_with_probe(KUBE % "ready_replicas"), "exp.yaml", Experiment)
    assert type(exp.steady_state[0]).__name__ == "KubernetesProbe"
    assert any(type(p).__name__ == "Probe" for p in exp.steady_state)


def test_kubernetes_probe_errors_name_the_line_and_field():
    with pytest.raises(InvalidInput) as exc:
        parse_model(_with_probe(KUBE % "ready_pods"), "exp.yaml", Experiment)
    (issue,) = exc.value.issues
    assert str(issue).startswith("exp.yaml:")
    assert issue.field == "steady_state.0.kubernetes.metric"
    windowed = KUBE.replace("metric: %s\n", "metric: ready_replicas\n      window: 5s\n")
    with pytest.raises(InvalidInput) as exc:
        parse_model(_with_probe(windowed), "exp.yaml", Experiment)
    (issue,) = exc.value.issues
    assert issue.field == "steady_state.0.kubernetes.window"
    assert issue.message == "ready_replicas is read as it is now: it has no window"


def test_a_steady_state_restarts_window_past_steady_wait_could_never_hold():
    windowed = KUBE.replace("metric: %s\n", "metric: restarts\n      window: 30s\n")
    with pytest.raises(InvalidInput) as exc:
        parse_model(_with_probe(windowed), "exp.yaml", Experiment)
    (issue,) = exc.value.issues
    assert issue.field == "steady_state.0.kubernetes.window"
    assert "pending for its first 30 s, and steady_wait is" in issue.message


# -- where a run meets them: validate --stack, preflight, the engine -----------------------


def test_validate_and_preflight_refuse_kubernetes_probes_off_kubernetes(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(_with_probe(KUBE % "ready_replicas"))
    done = harness("validate", "--stack", str(ROOT / "stack.yaml"), str(path))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "workload:" in text)
    assert done.returncode == 3
    assert (
        f"{path}:{line}: steady_state.0.kubernetes: orders_ready: a Kubernetes probe cannot "
        "be read here: the topology's runtime is local, not kubernetes" in done.stderr
    )
    with pytest.raises(Refused) as refused:
        refuse_unreadable_probes(load_experiment(path), FakeRuntime({}), path)
    assert str(refused.value) == (
        f"{path}:{line}: steady_state.0.kubernetes: orders_ready: a Kubernetes probe cannot be "
        "read here: the fake runtime has no Kubernetes API (it needs runtime: kubernetes)"
    )


def test_preflight_passes_a_runtime_with_a_client(tmp_path, cluster):
    path = tmp_path / "exp.yaml"
    path.write_text(_with_probe(KUBE % "ready_replicas"))
    runtime = FakeRuntime({})
    runtime.client = cluster.client()  # type: ignore[attr-defined]
    refuse_unreadable_probes(load_experiment(path), runtime, path)
    plain = FakeRuntime({})  # an experiment without Kubernetes probes needs no client
    refuse_unreadable_probes(load_experiment(EXAMPLE), plain, EXAMPLE)


def _kube(name: str, **kw: Any) -> dict[str, Any]:
    return {**_probe(**kw).model_dump(), "name": name}


def test_a_run_reads_kubernetes_probes_through_its_runtimes_client(world, cluster):
    ctx = world.ctx(
        steady_state=[_kube("orders_ready")],
        guardrails=[_kube("orders_some", threshold=1)],
        expectations={"recovery_within": 2, "during": [_kube("orders_during", threshold=2)]},
    )
    ctx.env.runtime.client = cluster.client()  # what the kubernetes runtime offers
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "held", 0)
    seen = {(e.phase, e.result.name) for e in outcome.probes}
    assert {("before", "orders_ready"), ("guardrail", "orders_some")} <= seen
    assert ("during", "orders_during") in seen and ("after", "orders_ready") in seen
    during = [e for e in outcome.probes if e.phase == "during"]
    assert all(e.judged for e in during)  # a reading of now: nothing from before the fault
    probe_events = [e for e in events(ctx) if e["event"] == "probe"]
    assert probe_events[0]["query"] == "Deployment shop/orders ready replicas"
    assert probe_events[0]["detail"] == "3 of 3 ready; 3 pods"
    # the report names the value by its workload, as a PromQL probe by its query
    junit = ctx.out_dir / "junit.xml"
    write_junit(junit, ctx.exp.name, outcome, 1.0)
    assert "Deployment shop/orders ready replicas" in junit.read_text()
    frame = Frame(ctx.started, time.time(), tuple(outcome.phases), tuple(outcome.fault_windows))
    chart = probe_chart("orders_during", during, frame)
    assert chart.query == "Deployment shop/orders ready replicas" and chart.svg is not None


def test_a_run_whose_workload_is_gone_is_not_steady(world, cluster):
    ctx = world.ctx(steady_state=[_kube("orders_ready")])
    cluster.workloads.clear()
    ctx.env.runtime.client = cluster.client()
    outcome = run_experiment(ctx)
    assert outcome.verdict != "held"
    (before,) = [e.result for e in outcome.probes if e.phase == "before"]
    assert (before.status, before.detail) == ("no data", "Deployment shop/orders not found")
    assert "fault.applying" not in names(ctx)


def test_a_run_with_a_kubernetes_probe_and_no_client_is_refused_before_anything(world):
    ctx = world.ctx(steady_state=[_kube("orders_ready")])
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "refused", 3)
    assert (
        "steady_state.0.kubernetes: orders_ready: a Kubernetes probe cannot be read here: "
        "the local runtime has no Kubernetes API" in outcome.reasons[0]
    )
    assert "fault.applying" not in names(ctx)
    assert world.fake.all_toxics() == []


def test_a_during_restarts_window_as_long_as_the_fault_could_never_be_judged():
    windowed = KUBE.replace("metric: %s\n", "metric: restarts\n      window: 30s\n")
    text = _with_probe(
        windowed.replace("  - ", "    - ").replace("\n    ", "\n      "), "  during:\n"
    )
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "exp.yaml", Experiment)
    (issue,) = exc.value.issues
    assert issue.field == "expectations.during.0.kubernetes"
    assert "can never be judged: its 30 s window never lies inside the fault" in issue.message
