"""A topology whose services are pods in a cluster (`runtime: kubernetes`): what it may
and must say, each mistake at its file, line and field, and what it derives."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from harness.cli.main import main as harness_main
from harness.errors import InvalidInput, Refused
from harness.experiment.alerting import receiver_url
from harness.runtime.base import Endpoints
from harness.runtime.endpoints import endpoints_for, endpoints_of
from harness.specs.topology import Topology, load_topology
from harness.specs.yamlload import parse_model

CLUSTER = """\
version: harness/v1
runtime: kubernetes
kubernetes:
  kubeconfig: kube/config.yaml
  namespaces: [shop, payments]
prometheus:
  url: http://127.0.0.1:9090/
alertmanager:
  url: http://127.0.0.1:9093
  receiver_url: http://127.0.0.1:9094
services:
  orders:
    selector:
      namespaces: [shop]
      labelSelectors: {app: orders}
    url: http://127.0.0.1:8080
    metrics_path: /metrics
  ledger:
    selector:
      pods: {payments: [ledger-0, ledger-1]}
"""

LOCAL = """\
version: harness/v1
services:
  api:
    replicas: 2
    port_base: 20100
    command: {argv: [sleep, "60"]}
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "t.yaml", Topology)
    return str(exc.value).splitlines()


def test_a_cluster_topology_has_no_static_replicas_and_no_links():
    topo = parse_model(CLUSTER, "t.yaml", Topology)
    assert topo.runtime == "kubernetes" and topo.kubernetes is not None
    assert topo.replicas == () and topo.links == () and topo.launched == ()
    assert topo.services["orders"].url == "http://127.0.0.1:8080"
    assert topo.services["ledger"].selector is not None
    assert topo.summary() == "orders: pods app=orders, ledger: pods by name"
    assert parse_model(LOCAL, "t.yaml", Topology).summary() == "api x2"


BAD_CLUSTER = [
    # the runtime and its section
    ("runtime: kubernetes\nkubernetes:\n  kubeconfig: kube/config.yaml\n  namespaces: [shop, payments]\n",
     "runtime: kubernetes\n",
     "t.yaml:2: runtime: runtime: kubernetes needs a kubernetes: section (the cluster, and the namespaces an experiment may touch)"),
    ("prometheus:\n  url: http://127.0.0.1:9090/\n", "prometheus:\n  port: 9999\n",
     "t.yaml:7: prometheus: runtime: kubernetes needs prometheus.url: the cluster's Prometheus as reached from this machine (a port-forward, an ingress)"),
    ("  receiver_url: http://127.0.0.1:9094\n", "",
     "t.yaml:9: alertmanager.url: give both url and receiver_url: an alert is proven by Alertmanager's notification reaching the receiver"),
    ("  url: http://127.0.0.1:9090/", "  url: http://10.1.2.3:9090/",
     "t.yaml:7: prometheus.url: 'http://10.1.2.3:9090/': 10.1.2.3 is not loopback; this tool only sends traffic to loopback (127.0.0.0/8, ::1, localhost)"),
    # every service is pods, in an allowed namespace
    ("  ledger:\n    selector:\n      pods: {payments: [ledger-0, ledger-1]}\n",
     "  ledger:\n    external: [\"127.0.0.1:9000\"]\n",
     "t.yaml:19: services.ledger: with runtime: kubernetes a service is pods in the cluster: give it a selector (command and external run on this machine)"),
    ("      namespaces: [shop]", "      namespaces: [shop, billing]",
     "t.yaml:14: services.orders.selector.namespaces.1: namespace billing is not in kubernetes.namespaces (the only namespaces an experiment may touch): add it there to allow it"),
    ("pods: {payments:", "pods: {kube-system:",
     "t.yaml:20: services.ledger.selector.pods.kube-system: namespace kube-system is not in kubernetes.namespaces (the only namespaces an experiment may touch): add it there to allow it"),
    ("    url: http://127.0.0.1:8080", "    url: http://orders.shop.svc:8080",
     "t.yaml:16: services.orders.url: 'http://orders.shop.svc:8080': orders.shop.svc is not loopback; this tool only sends traffic to loopback (127.0.0.0/8, ::1, localhost)"),
    ("    url: http://127.0.0.1:8080\n", "    url: http://127.0.0.1:8080\n    command: {argv: [sleep, '1']}\n",
     "t.yaml:13: services.orders: give exactly one of command (the harness starts it), external (it runs already) or selector (its pods in a cluster)"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "message"), BAD_CLUSTER)
def test_a_cluster_topology_mistake_names_file_line_and_field(old, new, message):
    assert old in CLUSTER
    assert message in _errors(CLUSTER.replace(old, new, 1))


NOT_FOR_PODS = [
    ("replicas: 3", "its instances are the Ready pods its selector finds when a run plans"),
    ("port_base: 18000", "the cluster runs its pods; the harness starts nothing"),
    ("start: sequential", "the cluster runs its pods; the harness starts nothing"),
    ('init: {argv: ["true"]}', "the cluster runs its pods; the harness starts nothing"),
    ("ready_path: /ready", "a pod is ready when Kubernetes says it is Ready (its readiness probe)"),
    ("live_path: /live", "Kubernetes restarts its pods (their liveness probe)"),
    ("live_period: 5s", "Kubernetes restarts its pods (their liveness probe)"),
    ("proxy_port_base: 18100", "a service of pods has no Toxiproxy proxies"),
    ("edge_port_base: 18200", "a service of pods has no Toxiproxy proxies"),
    ("depends_on: [ledger]", "a service of pods has no Toxiproxy proxies"),
]


@pytest.mark.parametrize(("line", "why"), NOT_FOR_PODS)
def test_what_makes_no_sense_for_pods_is_an_error_at_its_line(line, why):
    text = CLUSTER.replace(
        "    metrics_path: /metrics\n", f"    metrics_path: /metrics\n    {line}\n"
    )
    field = line.split(":")[0]
    (error,) = [e for e in _errors(text) if e.startswith("t.yaml:")]
    assert error.startswith(f"t.yaml:18: services.orders.{field}: not for a service of pods")
    assert why in error


BAD_LOCAL = [
    ("version: harness/v1\n", "version: harness/v1\nkubernetes: {namespaces: [shop]}\n",
     "t.yaml:2: kubernetes: only with runtime: kubernetes"),
    ("version: harness/v1\n", "version: harness/v1\nprometheus: {url: 'http://127.0.0.1:9090'}\n",
     "t.yaml:2: prometheus.url: only with runtime: kubernetes: the local stack runs its own on this machine"),
    ("version: harness/v1\n",
     "version: harness/v1\nalertmanager: {url: 'http://127.0.0.1:1', receiver_url: 'http://127.0.0.1:2'}\n",
     "t.yaml:2: alertmanager.receiver_url: only with runtime: kubernetes: the local stack runs its own on this machine"),
    ("    command: {argv: [sleep, \"60\"]}\n",
     "    command: {argv: [sleep, \"60\"]}\n  orders:\n    selector: {labelSelectors: {app: orders}}\n",
     "t.yaml:8: services.orders.selector: a service of pods needs runtime: kubernetes (and its kubernetes: section)"),
    ("    replicas: 2\n", "    replicas: 2\n    url: http://127.0.0.1:8080\n",
     "t.yaml:5: services.api.url: only a service of pods (selector) has a url; the load reaches a service on this machine through its edge proxies (edge_port_base)"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "message"), BAD_LOCAL)
def test_a_local_topology_may_not_point_into_a_cluster(old, new, message):
    assert message in _errors(LOCAL.replace(old, new, 1))


def test_the_kubeconfig_is_relative_to_the_stack_file_and_must_exist(tmp_path):
    stack = tmp_path / "stack.yaml"
    stack.write_text(CLUSTER)
    with pytest.raises(
        InvalidInput, match=r"kubernetes\.kubeconfig: .*kube/config\.yaml does not exist"
    ):
        load_topology(stack)
    (tmp_path / "kube").mkdir()
    (tmp_path / "kube" / "config.yaml").write_text("apiVersion: v1\n")
    topo = load_topology(stack)
    assert topo.kubernetes is not None
    assert topo.kubernetes.kubeconfig == tmp_path / "kube" / "config.yaml"


def test_without_a_kubeconfig_none_is_made_up(tmp_path):
    stack = tmp_path / "stack.yaml"
    stack.write_text(CLUSTER.replace("  kubeconfig: kube/config.yaml\n", ""))
    topo = load_topology(stack)
    assert topo.kubernetes is not None and topo.kubernetes.kubeconfig is None


def test_a_cluster_topology_endpoints_are_its_urls_and_no_toxiproxy():
    topo = parse_model(CLUSTER, "t.yaml", Topology)
    assert endpoints_for(topo) == Endpoints(
        prometheus="http://127.0.0.1:9090",
        alertmanager="http://127.0.0.1:9093",
        alert_receiver="http://127.0.0.1:9094",
        toxiproxy=None,
    )
    bare = CLUSTER.replace(
        "alertmanager:\n  url: http://127.0.0.1:9093\n  receiver_url: http://127.0.0.1:9094\n", ""
    )
    ends = endpoints_for(parse_model(bare, "t.yaml", Topology))
    assert ends.alertmanager is None and ends.alert_receiver is None


def test_a_local_topology_endpoints_are_the_local_stacks():
    topo = parse_model(LOCAL, "t.yaml", Topology)
    assert endpoints_for(topo) == endpoints_of(topo)
    assert endpoints_of(topo).alert_receiver == "http://127.0.0.1:19094"


def test_an_experiment_expecting_alerts_without_an_alertmanager_is_refused():
    ends = Endpoints("http://127.0.0.1:9090", None, None)
    runtime = SimpleNamespace(endpoints=lambda: ends)
    ctx = SimpleNamespace(env=SimpleNamespace(runtime=runtime), source="exp.yaml")
    with pytest.raises(Refused, match=r"^exp\.yaml: this experiment expects alerts, but the stack "
                       r"has no Alertmanager the harness reaches: name alertmanager\.url and "
                       r"receiver_url in the topology$"):  # fmt: skip
        receiver_url(ctx)  # type: ignore[arg-type]


@pytest.mark.parametrize("command", ["up", "down", "status", "compose"])
def test_the_local_stack_commands_refuse_a_cluster_topology_in_one_line(
    command, tmp_path, monkeypatch, capsys
):
    stack = tmp_path / "stack.yaml"
    stack.write_text(CLUSTER.replace("  kubeconfig: kube/config.yaml\n", ""))
    args = ["harness", command, "--stack", str(stack), "--stack-dir", str(tmp_path / "run")]
    if command == "compose":
        args = args[:-2]
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as exc:
        harness_main()
    assert exc.value.code == 3
    said = capsys.readouterr()
    lines = [line for line in (said.out + said.err).splitlines() if line.strip()]
    assert lines == [
        f"{stack}: runtime: kubernetes: the cluster runs this topology's services and stack; "
        f"`harness {command}` is for a local stack (run experiments against the cluster)"
    ]


def test_down_never_needs_a_valid_stack_file(tmp_path, monkeypatch, capsys):
    """Only a file that loads and says kubernetes is refused: down stops what the run
    directory recorded, whatever became of the file since."""
    stack = tmp_path / "stack.yaml"
    stack.write_text("version: harness/v1\n")  # no services: invalid
    args = ["harness", "down", "--stack", str(stack), "--stack-dir", str(tmp_path / "run")]
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as exc:
        harness_main()
    assert exc.value.code == 0
    assert "nothing to stop" in capsys.readouterr().out
