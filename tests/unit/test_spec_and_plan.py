"""Experiment files: exact error messages for bad ones; target resolution; blast radius."""

import re
from functools import partial
from pathlib import Path

import pytest

from harness import cli
from harness.errors import InvalidInput, Refused
from harness.experiment.plan import plan_experiment, topology_problems
from harness.specs.experiment import Experiment, load_experiment
from harness.specs.topology import load_topology
from harness.specs.yamlload import parse_model

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "experiments" / "orders-latency-one-replica.yaml"
TOPO = load_topology(ROOT / "stack.yaml")
ALL_LIVE = {r.name: r.service for r in TOPO.replicas}  # every replica serves


def _parse(text: str) -> Experiment:
    return parse_model(text, "exp.yaml", Experiment)


def _edit(old: str, new: str) -> str:
    text = EXAMPLE.read_text()
    assert old in text, old
    return text.replace(old, new, 1)


def test_every_shipped_experiment_is_valid():
    files = sorted((ROOT / "experiments").glob("*.yaml"))
    assert files
    for path in files:
        load_experiment(path)


BAD = [
    (
        "latency_ms: 300",
        "latency_ms: -5",
        ["exp.yaml:18: faults.0.latency_ms: Input should be greater than or equal to 1"],
    ),
    (
        "type: latency",
        "type: earthquake",
        [
            "exp.yaml:15: faults.0: Input tag 'earthquake' found using 'type' does not match any of the expected tags: 'latency', 'blackhole', 'refused', 'bandwidth', 'reset_peer', 'slow_close', 'slicer', 'limit_data', 'kill', 'terminate', 'pause', 'cpu_stress', 'disk_fill'"
        ],
    ),
    (
        "target: slow-orders",
        "target: nobody",
        ["exp.yaml:16: faults.0.target: unknown target 'nobody' (known: slow-orders)"],
    ),
    (
        "duration: 30s",
        "duration: thirty",
        [
            "exp.yaml:20: faults.0.duration: 'thirty' is not a duration: use forms like 500ms, 30s, 2m or 1m30s"
        ],
    ),
    (
        'op: ">="',
        'op: "=>"',
        ["exp.yaml:34: steady_state.0.op: Input should be '<', '<=', '>', '>=', '==' or '!='"],
    ),
    (
        "    count: 1",
        "    count: 1\n    replicas: [orders-1]",
        ["exp.yaml:11: targets.slow-orders: give exactly one of service, replicas or links"],
    ),
    (
        "version: harness/v1",
        "version: harness/v2",
        ["exp.yaml:1: version: Input should be 'harness/v1'"],
    ),
    (
        "  rate: 20",
        "  rate: 0\n  burst: 3",
        [
            "exp.yaml:23: load.rate: Input should be greater than 0",
            "exp.yaml:24: load.burst: Extra inputs are not permitted",
        ],
    ),
]


@pytest.mark.parametrize(("old", "new", "messages"), BAD)
def test_malformed_files_get_every_error_with_file_line_field(old, new, messages):
    with pytest.raises(InvalidInput) as exc:
        _parse(_edit(old, new))
    assert [str(i) for i in exc.value.issues] == messages


def test_missing_blast_radius_is_reported_at_the_top():
    text = EXAMPLE.read_text().split("blast_radius:")[0]
    with pytest.raises(InvalidInput) as exc:
        _parse(text)
    assert [str(i) for i in exc.value.issues] == ["exp.yaml:1: blast_radius: Field required"]


def test_count_selects_that_many_live_replicas_and_resolves_ingress_links():
    plan = plan_experiment(load_experiment(EXAMPLE), TOPO, ALL_LIVE, seed=7)
    (fault,) = plan.faults
    assert len(fault.replicas) == 1 and fault.replicas[0].startswith("orders-")
    assert [link.name for link in fault.links] == [f"gateway_{fault.replicas[0]}"]


def test_selection_only_picks_live_replicas():
    live = {r: s for r, s in ALL_LIVE.items() if r != "orders-1"}
    exp = _parse(_edit("max_percent: 34", "max_percent: 50"))  # one of the two left
    for seed in range(20):
        plan = plan_experiment(exp, TOPO, live, seed=seed)
        assert plan.faults[0].replicas != ("orders-1",)


def test_over_the_count_limit_is_refused_and_names_the_limit():
    exp = _parse(_edit("    count: 1", "    count: 2"))
    with pytest.raises(Refused, match="exceed max_targets=1"):
        plan_experiment(exp, TOPO, ALL_LIVE, seed=1)


def test_over_the_percent_limit_is_refused():
    exp = _parse(_edit("max_targets: 1", "max_targets: 3").replace("count: 1", "count: 2"))
    with pytest.raises(Refused, match=r"2 of 3 orders replicas \(67%\) exceed max_percent=34"):
        plan_experiment(exp, TOPO, ALL_LIVE, seed=1)


def test_every_replica_needs_allow_total_outage():
    text = _edit("    count: 1", "    percent: 100").replace("max_targets: 1", "max_targets: 3")
    text = text.replace("max_percent: 34", "max_percent: 100")
    with pytest.raises(Refused, match="allow_total_outage: true"):
        plan_experiment(_parse(text), TOPO, ALL_LIVE, seed=1)
    allowed = _parse(
        text.replace("max_duration: 60s", "max_duration: 60s\n  allow_total_outage: true")
    )
    plan = plan_experiment(allowed, TOPO, ALL_LIVE, seed=1)
    assert set(plan.replicas) == {"orders-1", "orders-2", "orders-3"}


def test_a_dead_replica_counts_against_total_outage():
    text = _edit("    count: 1", "    count: 2").replace("max_targets: 1", "max_targets: 2")
    text = text.replace("max_percent: 34", "max_percent: 100")
    with pytest.raises(Refused, match="every live orders replica"):
        plan_experiment(_parse(text), TOPO, {"orders-1": "orders", "orders-2": "orders"}, seed=1)


def test_fault_longer_than_max_duration_is_invalid_at_the_faults_line():
    with pytest.raises(InvalidInput) as exc:
        _parse(_edit("start_after: 0s", "start_after: 40s"))
    assert [str(i) for i in exc.value.issues] == [
        "exp.yaml:15: faults.0: ends at 70s (start_after + duration), "
        "past blast_radius.max_duration=60s"
    ]


def test_a_fault_window_designed_to_be_refused_is_left_to_the_planner():
    exp = _parse(
        _edit("duration: 30s", "duration: 90s").replace(
            "\ntargets:", "\ndesigned_verdict: refused\ntargets:"
        )
    )
    with pytest.raises(Refused, match="past max_duration=60s"):
        plan_experiment(exp, TOPO, ALL_LIVE, seed=1)


def test_database_hop_resolves_to_the_replicas_db_links():
    exp = _parse(
        _edit("    count: 1", "    replicas: [orders-2]\n    hop: database").replace(
            "    service: orders\n", ""
        )
    )
    plan = plan_experiment(exp, TOPO, ALL_LIVE, seed=1)
    assert [link.name for link in plan.faults[0].links] == ["orders-2_postgres"]
    assert plan.faults[0].replicas == ("orders-2",)


# -- numbers that are not numbers, and absurd ones ---------------------------------

NOT_A_NUMBER = [
    ("duration: 30s", "duration: .inf", "exp.yaml:20: faults.0.duration: inf is not finite"),
    ("duration: 30s", "duration: .nan", "exp.yaml:20: faults.0.duration: nan is not a duration"),
    (
        "start_after: 0s",
        "start_after: 999999999h",
        "exp.yaml:19: faults.0.start_after: '999999999h' is longer than the limit of 24h",
    ),
    ("count: 1", "count: 1.0e+30", "exp.yaml:12: targets.slow-orders.count: "),
    ("count: 1", "count: 5000", "exp.yaml:12: targets.slow-orders.count: Input should be less"),
    (
        "count: 1",
        "percent: .nan",
        "exp.yaml:12: targets.slow-orders.percent: Input should be a finite",
    ),
    ("weight: 3}", "weight: .inf}", "exp.yaml:25: load.routes.0.weight: Input should be a finite"),
    ("latency_ms: 300", "latency_ms: 300\n    toxicity: .nan", "exp.yaml:19: faults.0.toxicity:"),
    (
        "threshold: 0.99",
        "threshold: .nan",
        "exp.yaml:35: steady_state.0.threshold: a threshold must be a number, not NaN",
    ),
    (
        "recovery_within: 30s",
        "recovery_within: .inf",
        "exp.yaml:59: expectations.recovery_within: inf is not finite",
    ),
    (
        "max_duration: 60s",
        "max_duration: 25h",
        "exp.yaml:67: blast_radius.max_duration: '25h' is longer",
    ),
]


@pytest.mark.parametrize(("old", "new", "issue"), NOT_A_NUMBER)
def test_non_finite_and_absurd_numbers_are_rejected(old, new, issue):
    with pytest.raises(InvalidInput) as exc:
        _parse(_edit(old, new))
    assert [str(i) for i in exc.value.issues if issue in str(i)], exc.value.issues


def test_settle_inf_is_rejected_not_slept_on():
    with pytest.raises(InvalidInput, match=r"exp.yaml:\d+: settle: inf is not finite"):
        _parse(EXAMPLE.read_text() + "settle: .inf\n")


def test_an_infinite_threshold_is_allowed():
    exp = _parse(_edit("threshold: 1.0", "threshold: .inf"))
    assert exp.steady_state[1].threshold == float("inf")


# -- PromQL -----------------------------------------------------------------------


def test_every_bad_query_is_reported_at_once_with_its_line():
    lines = EXAMPLE.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "query: |":
            lines[i + 1] += " )"  # one parenthesis too many in every query
    text = "\n".join(lines) + "\n"
    with pytest.raises(InvalidInput) as exc:
        _parse(text)
    where = [(i.line, i.field) for i in exc.value.issues]
    assert where == [
        (31, "steady_state.0.query"),
        (37, "steady_state.1.query"),
        (45, "guardrails.0.query"),
        (54, "expectations.during.0.query"),
    ]
    assert all(i.message.startswith("PromQL syntax: ") for i in exc.value.issues)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("up[5m]", "a probe needs an instant vector or a scalar, and this is a range vector"),
        ("(rate(up[1m])[5m:1m])", "and this is a range vector"),
        ('"text"', "and this is a string"),
        ("nosuchfunc(up)", "PromQL syntax: unknown function with name 'nosuchfunc'"),
        ("up offset Inf", "PromQL syntax"),  # the Rust parser panics on this one
        ("(" * 200 + "1" + ")" * 200, "nested more than 100 levels deep"),
        ("(" * 20_000 + "1" + ")" * 20_000, "longer than 10000 characters"),
    ],
)
def test_queries_that_cannot_be_a_probe(query, message):
    text = EXAMPLE.read_text().replace(
        "threshold: 0.2", "threshold: 0.2\n  - {name: q, query: 'QUERY', op: '<', threshold: 1}"
    )
    with pytest.raises(InvalidInput) as exc:
        _parse(text.replace("QUERY", query.replace("'", "''")))
    assert [(i.line, i.field) for i in exc.value.issues] == [(50, "guardrails.1.query")]
    assert message in exc.value.issues[0].message


# -- load routes ----------------------------------------------------------------------

ROUTE = '- {method: GET, path: "/products/{product_id}", weight: 3, choices: {product_id: [1, 2, 3, 4, 5]}}'


@pytest.mark.parametrize(
    ("route", "issues"),
    [
        (
            '- {path: "/products/{product_id}/{size}", choices: {product_id: [1], size: []}}',
            [
                "exp.yaml:26: load.routes.1.choices.size: no values to choose from",
            ],
        ),
        (
            '- {path: "/products/{id}"}',
            ["exp.yaml:26: load.routes.1.path: placeholder {id} has no entry in choices"],
        ),
        (
            '- {path: "/products/{id!r}/{}", choices: {id: [1]}}',
            [
                "exp.yaml:26: load.routes.1.path: placeholder {id} must be a plain {name}",
                "exp.yaml:26: load.routes.1.path: placeholder {} must be a plain {name}",
            ],
        ),
        (
            '- {path: "/products/{", choices: {id: [1]}}',
            [
                "exp.yaml:26: load.routes.1.path: '/products/{': Single '{' encountered in format string (write {{ and }} for braces)"
            ],
        ),
        (
            '- {method: POST, path: /orders, json: {product_id: "{product_id}"}}',
            [
                "exp.yaml:26: load.routes.1.json.product_id: placeholder {product_id} has no entry in choices"
            ],
        ),
    ],
)
def test_route_placeholders_the_load_generator_cannot_fill(route, issues):
    with pytest.raises(InvalidInput) as exc:
        _parse(_edit(ROUTE, route))
    assert sorted(str(i) for i in exc.value.issues) == sorted(issues)


def test_a_filled_body_placeholder_is_fine():
    route = '- {method: POST, path: /orders, json: {product_id: "{product_id}"}, choices: {product_id: [1, 2]}}'
    assert _parse(_edit(ROUTE, route)).load is not None


# -- faults --------------------------------------------------------------------------


def test_bandwidth_rate_is_kilobytes_per_second_and_the_old_name_says_so():
    from harness.experiment.plan import PlannedFault
    from harness.faults import FaultEnv, actions_for
    from tests.fakeruntime import FakeRuntime

    old = _edit("type: latency", "type: bandwidth").replace("latency_ms: 300", "rate_kbps: 64")
    with pytest.raises(InvalidInput) as exc:
        _parse(old)
    assert [str(i) for i in exc.value.issues] == [
        "exp.yaml:18: faults.0.rate_kbps: renamed to rate_kb_per_s: the rate is kilobytes per second"
    ]
    exp = _parse(old.replace("rate_kbps: 64", "rate_kb_per_s: 64"))
    link = next(lk for lk in TOPO.links if lk.name == "gateway_orders-1")
    planned = PlannedFault(0, exp.faults[0], ("orders-1",), (link,))
    env = FaultEnv(toxiproxy=None, runtime=FakeRuntime({"orders-1": "orders"}))
    actions = actions_for(planned, env, "r1")
    assert [(a.type, a.stream, a.attributes) for a in actions] == [
        ("bandwidth", "downstream", {"rate": 64})
    ]


def test_a_process_fault_on_links_is_invalid():
    text = _edit("    service: orders\n    count: 1", "    links: [gateway_orders-1]")
    with pytest.raises(InvalidInput) as exc:
        _parse(
            text.replace("type: latency", "type: kill")
            .replace("    latency_ms: 300\n", "")
            .replace("    direction: downstream\n", "")
        )
    assert [str(i) for i in exc.value.issues] == [
        "exp.yaml:15: faults.0.target: a kill fault needs replicas, not links"
    ]


def test_refused_is_a_verdict_an_experiment_can_be_designed_for():
    exp = _parse(_edit("\ntargets:", "\ndesigned_verdict: refused\ntargets:"))
    assert exp.designed_verdict == "refused"


# -- the topology (validate --stack, and the planner) --------------------------------

TOPOLOGY_BAD = [
    (
        "    service: orders\n",
        "    service: order\n",
        "exp.yaml:11: targets.slow-orders.service: unknown service 'order' (known: catalog, gateway, orders)",
    ),
    (
        "    count: 1",
        "    count: 4",
        "exp.yaml:12: targets.slow-orders.count: count 4 is more than the 3 replicas of orders",
    ),
    (
        "    service: orders\n    count: 1",
        "    replicas: [orders-1, orders-9]",
        "exp.yaml:11: targets.slow-orders.replicas: unknown replica orders-9",
    ),
    (
        "    service: orders\n    count: 1",
        "    links: [gateway_orders-7]",
        "exp.yaml:11: targets.slow-orders.links: unknown link gateway_orders-7",
    ),
    (
        "    service: orders\n",
        "    service: gateway\n",
        "exp.yaml:16: faults.0.target: no ingress link for gateway-1",
    ),
]


@pytest.mark.parametrize(("old", "new", "issue"), TOPOLOGY_BAD)
def test_validate_with_a_stack_locates_every_selector_problem(tmp_path, old, new, issue):
    path = tmp_path / "exp.yaml"
    path.write_text(_edit(old, new))
    load_experiment(path)  # fine without the topology
    with pytest.raises(InvalidInput) as exc:
        load_experiment(path, partial(topology_problems, topo=TOPO))
    assert [str(i).replace(str(path), "exp.yaml") for i in exc.value.issues] == [issue]
    with pytest.raises(InvalidInput, match=re.escape(issue.split(": ", 1)[1])):
        plan_experiment(load_experiment(path), TOPO, ALL_LIVE, seed=1)


def test_validate_reports_every_issue_of_every_file(tmp_path):
    good, bad, worse = tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"
    good.write_text(EXAMPLE.read_text())
    bad.write_text(_edit("    count: 1", "    count: 4"))
    worse.write_text(
        _edit("duration: 30s", "duration: .inf").replace("latency_ms: 300", "latency_ms: 0")
    )
    with pytest.raises(InvalidInput) as exc:
        cli.app(
            ["validate", "--stack", str(ROOT / "stack.yaml"), str(tmp_path)], standalone_mode=False
        )
    assert [(Path(i.file).name, i.line, i.field) for i in exc.value.issues] == [
        ("b.yaml", 12, "targets.slow-orders.count"),
        ("c.yaml", 18, "faults.0.latency_ms"),
        ("c.yaml", 20, "faults.0.duration"),
    ]
