"""Where the load goes: a service's edge proxy, a loopback URL, or the topology's one entry."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from harness.errors import InvalidInput
from harness.experiment.plan import load_url, plan_experiment, topology_problems
from harness.specs.experiment import Experiment, LoadSpec
from harness.specs.topology import Topology
from harness.specs.yamlload import FieldError, parse_model
from tests.unit.test_spec_and_plan import ALL_LIVE, EXAMPLE, TOPO

SHOP_TARGET = "  target: {service: gateway}\n"


def _load(target: dict[str, str] | None = None) -> LoadSpec:
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


def _problem(load: LoadSpec, topo: Topology) -> tuple[tuple[str | int, ...], str]:
    with pytest.raises(FieldError) as exc:
        load_url(load, topo)
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
    assert plan.load_url == "http://127.0.0.1:18201"
    shop = plan_experiment(parse_model(EXAMPLE.read_text(), "e", Experiment), TOPO, ALL_LIVE, 1)
    assert shop.load_url == "http://127.0.0.1:18080"


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
