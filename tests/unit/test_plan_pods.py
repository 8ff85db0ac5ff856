"""Planning over a cluster: a service is the pods that serve now, named "namespace/pod".

Counts, shares, a total outage and max_targets are decided against the Ready pods the
runtime reports; `validate --stack` leaves to the run what only the cluster knows, and
still says what it can (a fault's duration, a pod named without its namespace)."""

from __future__ import annotations

import pytest

from harness.errors import InvalidInput, Refused
from harness.experiment.loadtarget import load_plan
from harness.experiment.plan import describe_fault, plan_experiment, static_problems
from harness.experiment.serving import serving_replicas
from harness.report.rebuild import services_hurt
from harness.safety.events import Planned
from harness.specs.experiment import Experiment, LoadSpec
from harness.specs.topology import Topology
from harness.specs.yamlload import FieldError, parse_model
from tests.fakeruntime import FakeRuntime

CLUSTER = """\
version: harness/v1
runtime: kubernetes
kubernetes: {namespaces: [shop]}
prometheus: {url: "http://127.0.0.1:9090"}
services:
  orders:
    selector: {namespaces: [shop], labelSelectors: {app: orders}}
    url: http://127.0.0.1:8080
  catalog:
    selector: {labelSelectors: {app: catalog}}
"""
TOPO = parse_model(CLUSTER, "stack.yaml", Topology)

PODS = {
    "shop/orders-7d9f-a1": "orders",
    "shop/orders-7d9f-b2": "orders",
    "shop/orders-7d9f-c3": "orders",
    "shop/catalog-0": "catalog",
    "shop/catalog-1": "catalog",
}
ORDERS = sorted(p for p, s in PODS.items() if s == "orders")

EXPERIMENT = """\
version: harness/v1
name: pods
hypothesis: the shop survives
targets:
  hit:
    {selector}
faults:
  - type: {fault}
    target: hit
    start_after: 5s
    duration: 10s
steady_state:
  - {{name: up, query: "vector(1)", op: ">=", threshold: 1}}
blast_radius:
  {limits}
  max_duration: {max_duration}
"""


def _exp(
    selector: str = "{service: orders, count: 1}",
    limits: str = "max_percent: 34",
    fault: str = "kill",
    max_duration: str = "60s",
) -> Experiment:
    text = EXPERIMENT.format(
        selector=selector, limits=limits, fault=fault, max_duration=max_duration
    )
    return parse_model(text, "exp.yaml", Experiment)


def _refusal(exp: Experiment, live: dict[str, str] = PODS) -> str:
    with pytest.raises(Refused) as exc:
        plan_experiment(exp, TOPO, live, seed=1, source="exp.yaml")
    return str(exc.value)


def test_the_serving_pods_are_the_ready_ones_with_their_service():
    runtime = FakeRuntime(PODS)
    (starting,) = runtime.instances("orders")[2:]
    runtime.make_ready(starting, False)  # Running, not Ready yet: serves no one
    runtime.end("shop/catalog-1")  # deleted
    assert serving_replicas(runtime, TOPO) == {
        "shop/orders-7d9f-a1": "orders",
        "shop/orders-7d9f-b2": "orders",
        "shop/catalog-0": "catalog",
    }


def test_a_count_picks_that_many_live_pods_and_no_link():
    plan = plan_experiment(_exp("{service: orders, count: 2}", "max_percent: 67"), TOPO, PODS, 3)
    (fault,) = plan.faults
    assert len(fault.replicas) == 2 and set(fault.replicas) <= set(ORDERS)
    assert fault.links == ()
    assert plan.services == ["orders"]
    assert plan.service_of == {pod: "orders" for pod in fault.replicas}


def test_a_count_above_the_live_pods_is_refused_at_run_not_at_validate():
    exp = _exp("{service: orders, count: 4}", "allow_total_outage: true")
    assert static_problems(exp, TOPO) == []  # no pod is known before a run
    assert _refusal(exp) == "exp.yaml: targets.hit.count: wants 4 pods of orders but 3 are live"


def test_a_percent_is_a_share_of_the_live_pods():
    plan = plan_experiment(_exp("{service: orders, percent: 67}", "max_percent: 67"), TOPO, PODS, 1)
    assert len(plan.replicas) == 2
    live = {p: s for p, s in PODS.items() if p != ORDERS[0]}  # one of three gone
    plan = plan_experiment(_exp("{service: orders, percent: 67}", "max_percent: 50"), TOPO, live, 1)
    assert len(plan.replicas) == 1 and ORDERS[0] not in plan.replicas


def test_max_percent_counts_the_pods_serving_now():
    assert plan_experiment(_exp(), TOPO, PODS, seed=1).replicas <= set(ORDERS)
    two = {p: s for p, s in PODS.items() if p != ORDERS[2]}
    assert _refusal(_exp(), two) == (
        "exp.yaml: targets.hit.count: blast radius: 1 of 2 orders pods (50%) exceed max_percent=34"
    )


def test_every_live_pod_is_a_total_outage():
    one = {ORDERS[0]: "orders", "shop/catalog-0": "catalog"}
    assert _refusal(_exp(limits="max_targets: 1"), one) == (
        "exp.yaml: targets.hit.count: blast radius: every live orders pod would be hit; "
        "set allow_total_outage: true to allow a total outage"
    )
    allowed = _exp(limits="allow_total_outage: true")
    assert plan_experiment(allowed, TOPO, one, seed=1).replicas == {ORDERS[0]}


def test_a_pod_that_is_not_ready_is_no_survivor():
    runtime = FakeRuntime(PODS)
    for pod in runtime.instances("orders")[1:]:
        runtime.make_ready(pod, False)
    serving = serving_replicas(runtime, TOPO)
    assert "every live orders pod would be hit" in _refusal(_exp(limits="max_targets: 1"), serving)


def test_max_targets_counts_pods_of_every_service():
    exp = _exp("{service: orders, count: 3}", "max_targets: 2\n  allow_total_outage: true")
    assert _refusal(exp) == (
        "exp.yaml: targets.hit.count: blast radius: 3 targets (3 of orders) exceed max_targets=2"
    )


def test_pods_by_name_must_serve_now():
    named = f"{{replicas: [{ORDERS[1]}]}}"
    plan = plan_experiment(_exp(named), TOPO, PODS, seed=1)
    assert plan.replicas == {ORDERS[1]} and plan.services == ["orders"]
    gone = "{replicas: [shop/orders-7d9f-zz]}"
    assert static_problems(_exp(gone), TOPO) == []
    assert _refusal(_exp(gone)) == (
        "exp.yaml: targets.hit.replicas: replica shop/orders-7d9f-zz is not live; "
        "refusing to select it"
    )


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("[orders-1]", "'orders-1': name a pod as namespace/pod, e.g. shop/orders-0"),
        (
            "[billing/ledger-0]",
            "billing/ledger-0: namespace billing is not in the topology's kubernetes.namespaces "
            "(the only namespaces an experiment may touch)",
        ),
    ],
)
def test_a_pod_name_says_its_allowed_namespace(names, message):
    exp = _exp(f"{{replicas: {names}}}")
    assert static_problems(exp, TOPO) == [(("targets", "hit", "replicas", 0), message)]
    with pytest.raises(InvalidInput, match="exp.yaml: targets.hit.replicas.0: "):
        plan_experiment(exp, TOPO, PODS, seed=1, source="exp.yaml")


def test_a_network_fault_on_pods_needs_no_link():
    exp = parse_model(
        EXPERIMENT.format(
            selector="{service: orders, count: 1}",
            limits="max_percent: 34",
            fault="latency\n    latency_ms: 200",
            max_duration="60s",
        ),
        "exp.yaml",
        Experiment,
    )
    assert static_problems(exp, TOPO) == []
    (fault,) = plan_experiment(exp, TOPO, PODS, seed=1).faults
    assert fault.is_network and fault.links == () and len(fault.replicas) == 1


def test_validate_still_says_what_needs_no_cluster():
    exp = _exp("{service: billing, count: 1}")
    assert static_problems(exp, TOPO) == [
        (("targets", "hit", "service"), "unknown service 'billing' (known: catalog, orders)")
    ]


def test_the_dry_run_line_lists_the_pods_it_would_hit_now():
    plan = plan_experiment(_exp("{service: orders, count: 2}", "max_percent: 67"), TOPO, PODS, 3)
    (fault,) = plan.faults
    assert describe_fault(fault, TOPO) == f"kill at +5s for 10s on pods {', '.join(fault.replicas)}"
    one = plan_experiment(_exp(), TOPO, PODS, seed=1).faults[0]
    assert describe_fault(one, TOPO) == f"kill at +5s for 10s on pod {one.replicas[0]}"


def _load(target: dict[str, object] | None = None) -> LoadSpec:
    spec: dict[str, object] = {"rate": 5, "routes": [{"path": "/"}]}
    return LoadSpec.model_validate(spec if target is None else {**spec, "target": target})


def test_the_load_of_a_service_of_pods_goes_to_its_url():
    plan = load_plan(_load({"service": "orders"}), TOPO)
    assert [t.url for t in plan.targets] == ["http://127.0.0.1:8080"]
    assert plan.entry == "http://127.0.0.1:8080"
    assert load_plan(_load(), TOPO).entry == "http://127.0.0.1:8080"  # the one with a url


def test_a_service_of_pods_without_a_url_takes_no_load():
    with pytest.raises(FieldError) as exc:
        load_plan(_load({"service": "catalog"}), TOPO)
    assert exc.value.problems == [
        (
            ("target", "service"),
            "service 'catalog' is pods in a cluster with no url: give it url in the topology "
            "(an ingress, a NodePort, a port-forward), or send the load to a target.url",
        )
    ]
    with pytest.raises(FieldError) as exc:
        load_plan(_load({"service": "orders", "spread": True}), TOPO)
    assert exc.value.problems[0][0] == ("target", "spread")


def test_refusals_and_load_errors_are_located_in_the_file(tmp_path):
    text = EXPERIMENT.format(
        selector="{service: orders, count: 4}",
        limits="allow_total_outage: true",
        fault="kill",
        max_duration="60s",
    )
    source = tmp_path / "exp.yaml"
    source.write_text(text)
    exp = parse_model(text, str(source), Experiment)
    with pytest.raises(Refused, match=rf"^{source}:6: targets.hit.count: wants 4 pods"):
        plan_experiment(exp, TOPO, PODS, seed=1, source=str(source))
    text += "load:\n  rate: 5\n  routes: [{path: /}]\n  target: {service: catalog}\n"
    source.write_text(text)
    exp = parse_model(text, str(source), Experiment)
    with pytest.raises(InvalidInput) as exc:
        plan_experiment(exp, TOPO, PODS, seed=1, source=str(source))
    assert str(exc.value).startswith(
        f"{source}:20: load.target.service: service 'catalog' is pods in a cluster with no url"
    )


def test_the_report_names_the_services_hurt_as_journaled():
    pod = Planned(event="planned", fault=0, type="kill", replicas=[ORDERS[0]], services=["orders"])
    before = Planned(event="planned", fault=1, type="kill", replicas=["catalog-2"])  # older journal
    assert services_hurt([pod, before]) == ["catalog", "orders"]
