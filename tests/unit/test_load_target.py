"""Where the load goes: a service's edge proxy (or every replica's), a loopback URL, or the
topology's one entry."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from harness.errors import InvalidInput
from harness.experiment.loadtarget import LoadPlan, load_plan
from harness.experiment.plan import plan_experiment, topology_problems
from harness.load.generator import Target
from harness.specs.experiment import Experiment, LoadSpec
from harness.specs.topology import Topology
from harness.specs.yamlload import FieldError, parse_model
from tests.unit.test_spec_and_plan import ALL_LIVE, EXAMPLE, TOPO

SHOP_TARGET = "  target: {service: gateway}\n"


def _load(target: dict[str, Any] | None = None) -> LoadSpec:
    spec: dict[str, Any] = {"rate": 1, "routes": [{"path": "/"}]}
    return LoadSpec.model_validate(spec if target is None else {**spec, "target": target})


def _topo(edges: dict[str, int]) -> Topology:
    """No shop: two services already running on loopback, `edges` giving edge_port_base."""
    services: dict[str, dict[str, Any]] = {
        "web": {"external": ["127.0.0.1:9001", "127.0.0.1:9002"]},
        "api": {"external": ["127.0.0.1:9101"]},
    }
    for name, base in edges.items():
        services[name]["edge_port_base"] = base
    return Topology.model_validate({"services": services})


def load_url(load: LoadSpec, topo: Topology) -> str:
    """Where a load that is not spread goes: its one target, which is its entry too."""
    plan = load_plan(load, topo)
    (target,) = plan.targets
    assert target.url == plan.entry
    return target.url


def _problem(load: LoadSpec, topo: Topology) -> tuple[tuple[str | int, ...], str]:
    with pytest.raises(FieldError) as exc:
        load_plan(load, topo)
    (problem,) = exc.value.problems
    return problem


def _with_target(target: str) -> str:
    text = EXAMPLE.read_text()
    assert SHOP_TARGET in text
    return text.replace(SHOP_TARGET, target, 1)


# -- target.service ----------------------------------------------------------------------


def test_a_service_target_is_its_edge_proxy():
    assert load_url(_load({"service": "gateway"}), TOPO) == "http://127.0.0.1:18080"


def test_a_service_with_several_edge_proxies_gets_its_first():
    topo = _topo({"web": 20080})
    assert load_url(_load({"service": "web"}), topo) == "http://127.0.0.1:20080"


def test_a_service_without_an_edge_proxy_is_named_with_what_to_do():
    loc, message = _problem(_load({"service": "catalog"}), TOPO)
    assert loc == ("target", "service")
    assert message == (
        "service 'catalog' has no edge proxy: give it edge_port_base in the topology, "
        "or send the load to a target.url"
    )


def test_an_unknown_service_lists_the_known_ones():
    loc, message = _problem(_load({"service": "shop"}), TOPO)
    assert (loc, message) == (
        ("target", "service"),
        "unknown service 'shop' (known: catalog, gateway, orders)",
    )


def test_validate_with_a_stack_and_the_planner_report_the_target_at_its_line():
    text = _with_target("  target: {service: catalog}\n")
    exp = parse_model(text, "exp.yaml", Experiment)  # fine without the topology
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "exp.yaml", Experiment, partial(topology_problems, topo=TOPO))
    assert [(i.line, i.field) for i in exc.value.issues] == [(28, "load.target.service")]
    assert "'catalog' has no edge proxy" in exc.value.issues[0].message
    with pytest.raises(InvalidInput, match="'catalog' has no edge proxy"):
        plan_experiment(exp, TOPO, ALL_LIVE, seed=1)


# -- target.url -------------------------------------------------------------------------

LOOPBACK = [
    "http://127.0.0.1:18201",
    "http://127.9.8.7:80/api",
    "https://localhost:8443",
    "http://[::1]:9000",
]


@pytest.mark.parametrize("url", LOOPBACK)
def test_a_loopback_url_is_the_target_as_written(url):
    assert load_url(_load({"url": url}), TOPO) == url


def test_the_planner_puts_the_resolved_url_in_the_plan():
    text = _with_target("  target: {url: 'http://127.0.0.1:18201'}\n")
    plan = plan_experiment(parse_model(text, "exp.yaml", Experiment), TOPO, ALL_LIVE, seed=1)
    assert plan.load == LoadPlan((Target("http://127.0.0.1:18201"),), "http://127.0.0.1:18201")
    shop = plan_experiment(parse_model(EXAMPLE.read_text(), "e", Experiment), TOPO, ALL_LIVE, 1)
    edge = "http://127.0.0.1:18080"
    assert shop.load == LoadPlan((Target(edge, "gateway-1"),), edge)


REFUSED = [
    ("http://10.0.0.5:8080", "10.0.0.5 is not loopback; this tool only sends traffic to loopback"),
    ("http://example.com", "example.com is not loopback"),
    ("http://0.0.0.0:8000", "0.0.0.0 is not loopback"),
    ("http://[2001:db8::1]:80", "2001:db8::1 is not loopback"),
    ("http://localhost.example.com", "localhost.example.com is not loopback"),
    ("ftp://127.0.0.1", "give an http:// URL with a host"),
    ("127.0.0.1:8000", "give an http:// URL with a host"),
    ("http://127.0.0.1:99999", "Port out of range"),
    ("http://127.0.0.1:80/?q=1", "no ?query or #fragment"),
]


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_a_url_off_loopback_is_refused_at_its_line(url, message):
    with pytest.raises(InvalidInput) as exc:
        parse_model(_with_target(f"  target: {{url: '{url}'}}\n"), "exp.yaml", Experiment)
    (issue,) = exc.value.issues
    assert (issue.line, issue.field) == (28, "load.target.url")
    assert message in issue.message


def test_a_target_is_a_service_or_a_url_not_both():
    both = "  target: {service: gateway, url: 'http://127.0.0.1:1'}\n"
    for target in (both, "  target: {}\n"):
        with pytest.raises(InvalidInput) as exc:
            parse_model(_with_target(target), "exp.yaml", Experiment)
        assert [str(i) for i in exc.value.issues] == [
            "exp.yaml:28: load.target: give exactly one of service or url"
        ]


# -- no target: the topology's one entry -----------------------------------------------


def test_without_a_target_the_one_edge_service_is_the_default():
    assert load_url(_load(), TOPO) == "http://127.0.0.1:18080"
    assert load_url(_load(), _topo({"api": 21000})) == "http://127.0.0.1:21000"


def test_without_a_target_and_no_edge_proxy_says_to_give_one():
    loc, message = _problem(_load(), _topo({}))
    assert loc == ("target",)
    assert message.startswith("the topology has no service with an edge proxy: ")
    assert "target.url" in message


def test_without_a_target_and_two_edge_services_says_to_pick_one():
    loc, message = _problem(_load(), _topo({"web": 20080, "api": 21000}))
    assert (loc, message) == (
        ("target",),
        "the topology has 2 services with an edge proxy (api, web): "
        "say which with target.service, or give target.url",
    )


def test_a_missing_default_is_reported_in_the_load_block():
    text = _with_target("")
    topo = _topo({"web": 20080, "api": 21000})
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "exp.yaml", Experiment, partial(topology_problems, topo=topo))
    problems = [(i.line, i.field) for i in exc.value.issues if i.field.startswith("load")]
    assert problems == [(23, "load.target")]  # the first line of the load block


# -- spread: every replica's edge proxy, or the replicas named ---------------------------

WEB = [Target("http://127.0.0.1:20080", "web-1"), Target("http://127.0.0.1:20081", "web-2")]


def test_a_service_load_goes_through_replica_1s_edge_unless_spread():
    topo = _topo({"web": 20080})
    assert load_plan(_load({"service": "web"}), topo).targets == (WEB[0],)
    assert load_plan(_load(), topo).targets == (WEB[0],)  # the default entry is replica 1's too


def test_spread_takes_every_replicas_edge_in_replica_order_and_checks_keep_replica_1():
    plan = load_plan(_load({"service": "web", "spread": True}), _topo({"web": 20080}))
    assert plan == LoadPlan(tuple(WEB), "http://127.0.0.1:20080")


def test_replicas_choose_the_edges_in_their_order_and_checks_still_read_from_replica_1():
    topo = _topo({"web": 20080})
    assert load_plan(_load({"service": "web", "replicas": ["web-2"]}), topo) == LoadPlan(
        (WEB[1],), "http://127.0.0.1:20080"
    )
    both = load_plan(
        _load({"service": "web", "replicas": ["web-2", "web-1"], "spread": True}), topo
    )
    assert both.targets == (WEB[1], WEB[0])


def test_an_unknown_replica_is_refused_with_the_services_own_replicas():
    topo = _topo({"web": 20080, "api": 21000})
    loc, message = _problem(_load({"service": "web", "replicas": ["web-3", "api-1"]}), topo)
    assert (loc, message) == (
        ("target", "replicas"),
        "unknown replica web-3, api-1 of web (known: web-1, web-2)",
    )


def test_spread_still_needs_an_edge_proxy():
    loc, message = _problem(_load({"service": "catalog", "spread": True}), TOPO)
    assert loc == ("target", "service")
    assert "'catalog' has no edge proxy" in message


def test_an_unknown_replica_is_refused_at_its_line_by_validate_and_by_the_run(tmp_path):
    text = _with_target("  target: {service: gateway, replicas: [gateway-2]}\n")
    source = tmp_path / "exp.yaml"
    source.write_text(text)
    exp = parse_model(text, str(source), Experiment)  # fine without the topology
    message = (
        f"{source}:28: load.target.replicas: unknown replica gateway-2 of gateway "
        "(known: gateway-1)"
    )
    with pytest.raises(InvalidInput) as exc:  # validate --stack
        parse_model(text, str(source), Experiment, partial(topology_problems, topo=TOPO))
    assert [str(i) for i in exc.value.issues] == [message]
    with pytest.raises(InvalidInput) as exc:  # what preflight runs
        plan_experiment(exp, TOPO, ALL_LIVE, seed=1, source=str(source))
    assert [str(i) for i in exc.value.issues] == [message]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "{url: 'http://127.0.0.1:1', spread: true}",
            "load.target.spread: a url is one target: spread and replicas go with service",
        ),
        (
            "{url: 'http://127.0.0.1:1', replicas: [a]}",
            "load.target.replicas: a url is one target: spread and replicas go with service",
        ),
        ("{service: gateway, replicas: [a, b, a]}", "load.target.replicas: a named twice"),
        (
            "{service: gateway, replicas: [a], spread: false}",
            "load.target.spread: replicas spreads the load over the replicas named: drop spread",
        ),
        (
            "{service: gateway, replicas: []}",
            "load.target.replicas: Tuple should have at least 1 item",
        ),
    ],
)
def test_spread_and_replicas_that_make_no_sense_are_refused_at_their_line(target, message):
    with pytest.raises(InvalidInput) as exc:
        parse_model(_with_target(f"  target: {target}\n"), "exp.yaml", Experiment)
    (issue,) = exc.value.issues
    assert issue.line == 28
    assert message in str(issue)


def test_a_spread_plan_says_where_each_share_goes():
    spread = LoadPlan(tuple(WEB), WEB[0].url)
    assert spread.describe(30) == (
        "30 req/s spread over 2 edge proxies (15 req/s each, in turn): "
        "web-1 http://127.0.0.1:20080, web-2 http://127.0.0.1:20081"
    )
    assert LoadPlan(WEB[:1], WEB[0].url).describe(10) == (
        "10 req/s to http://127.0.0.1:20080 (web-1's edge)"
    )
    url = "http://127.0.0.1:9"
    assert LoadPlan((Target(url),), url).describe(5) == "5 req/s to http://127.0.0.1:9"
