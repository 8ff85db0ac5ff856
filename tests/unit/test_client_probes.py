"""Client-side probes: judged on the load generator's records, never passing on no data."""

import pytest

from harness.errors import InvalidInput
from harness.load.generator import Record
from harness.probes.client import Scope, evaluate_client
from harness.specs.experiment import ClientProbe, Experiment
from harness.specs.yamlload import parse_model
from tests.unit.test_spec_and_plan import EXAMPLE


def _records(ok: int, failed: int, latency: float = 0.01) -> list[Record]:
    good = [Record("POST /orders", 0.0, latency, 201) for _ in range(ok)]
    bad = [Record("POST /orders", 0.0, latency, 0, "ConnectError") for _ in range(failed)]
    return good + bad


def _probe(metric="error_ratio", op="<", threshold=0.1):
    return ClientProbe(name="users", metric=metric, op=op, threshold=threshold)


def test_error_ratio_counts_failures_and_unanswered_requests():
    result = evaluate_client(_probe(), _records(ok=8, failed=2))
    assert (result.status, result.value) == ("fail", 0.2)
    assert result.query == "client error_ratio over the last 2s"
    assert evaluate_client(_probe(), _records(ok=10, failed=0)).status == "pass"


def test_no_request_in_the_window_is_no_data():
    result = evaluate_client(_probe(), [])
    assert (result.status, result.value, result.ok) == ("no data", None, False)


def test_latency_quantiles():
    records = [Record("GET /", 0.0, i / 100, 200) for i in range(1, 101)]
    assert evaluate_client(_probe("p99_seconds", "<=", 1.0), records).value == 1.0
    assert evaluate_client(_probe("p50_seconds", "<=", 1.0), records).value == 0.51


def test_guardrails_mix_promql_and_client_probes():
    text = EXAMPLE.read_text().replace(
        "guardrails:\n",
        "guardrails:\n  - {name: users, metric: error_ratio, window: 1s, op: '<', threshold: 0.1}\n",
        1,
    )
    exp = parse_model(text, "exp.yaml", Experiment)
    assert [type(g).__name__ for g in exp.guardrails] == ["ClientProbe", "Probe"]


def test_client_probe_errors_name_the_line_and_field():
    text = EXAMPLE.read_text().replace(
        "guardrails:\n",
        "guardrails:\n  - {name: users, metric: errors, op: '<', threshold: 0.1}\n",
        1,
    )
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "exp.yaml", Experiment)
    assert [str(i) for i in exc.value.issues] == [
        "exp.yaml:44: guardrails.0.metric: Input should be 'error_ratio', 'p99_seconds' or 'p50_seconds'"
    ]


def test_client_probes_need_load():
    text = EXAMPLE.read_text().replace(
        "guardrails:\n",
        "guardrails:\n  - {name: users, metric: error_ratio, op: '<', threshold: 0.1}\n",
        1,
    )
    text = text.split("load:")[0] + "steady_state:" + text.split("steady_state:")[1]
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "exp.yaml", Experiment)
    assert str(exc.value).endswith("load: client probes (users) need load")


# -- narrowed to replicas and routes ---------------------------------------------------


def _through(target: str, ok: bool, route: str = "POST /orders") -> Record:
    return Record(route, 0.0, 0.01, 201 if ok else 503, target=target)


MIXED = [
    *[_through("orders-1", False) for _ in range(4)],
    _through("orders-1", True),
    *[_through("orders-2", True) for _ in range(5)],
    *[_through("orders-3", True, "GET /products") for _ in range(5)],
]
FAULTED = Scope(faulted=frozenset({"orders-1"}))


def _filtered(**kw):
    return ClientProbe(name="users", metric="error_ratio", op="<", threshold=0.1, **kw)


def test_errors_on_the_faulted_replica_only_none_on_the_others():
    faulted = evaluate_client(_filtered(replicas="faulted"), MIXED, FAULTED)
    assert (faulted.status, faulted.value, faulted.detail) == ("fail", 0.8, "5 requests")
    assert (
        faulted.query
        == "client error_ratio over the last 2s through the faulted replicas (orders-1)"
    )
    spared = evaluate_client(_filtered(replicas="spared"), MIXED, FAULTED)
    assert (spared.status, spared.value, spared.detail) == ("pass", 0.0, "10 requests")
    assert spared.query.endswith("through the spared replicas (all but orders-1)")


def test_a_probe_counts_the_replicas_and_the_route_it_names():
    named = evaluate_client(_filtered(replicas=("orders-2", "orders-3")), MIXED)
    assert (named.value, named.detail) == (0.0, "10 requests")
    route = evaluate_client(_filtered(route="POST /orders"), MIXED)
    assert (route.value, route.detail) == (0.4, "10 requests")
    assert route.query == "client error_ratio over the last 2s for POST /orders"
    both = evaluate_client(_filtered(replicas=("orders-3",), route="POST /orders"), MIXED)
    assert (both.status, both.detail) == (
        "no data",
        "no request through orders-3 for POST /orders completed in the window",
    )


def test_a_replica_filter_on_a_load_sent_to_a_url_is_no_data_saying_why():
    plain = [Record("GET /", 0.0, 0.01, 200)]  # target "": the load went to a URL
    result = evaluate_client(_filtered(replicas="faulted"), plain, FAULTED)
    assert (result.status, result.detail) == (
        "no data",
        "the load goes to a URL: its requests name no replica to filter on",
    )
    none_hit = evaluate_client(_filtered(replicas="faulted"), MIXED, Scope())
    assert none_hit.status == "no data" and "the faults hit no replica" in none_hit.detail


# -- a guardrail inside a fault: only what was sent since it began ---------------------


def _at(scheduled: float, ok: bool, latency: float = 0.05) -> Record:
    return Record("POST /orders", scheduled, latency, 201 if ok else 503)


def test_a_guardrail_counts_only_requests_sent_since_the_fault_began():
    # 30 req/s: a second of pre-fault successes, then the first failures of the fault
    before = [_at(9.0 + i / 30, True) for i in range(30)]
    after = [_at(10.0 + i / 30, False) for i in range(3)]
    probe = _filtered(window=1.0)
    diluted = evaluate_client(probe, before + after)
    assert diluted.status == "pass"  # 3 failures among 33: the fault's evidence drowned
    clipped = evaluate_client(probe, before + after, Scope(since=10.0, now=10.2))
    assert (clipped.status, clipped.value, clipped.detail) == ("fail", 1.0, "3 requests")
    assert clipped.query.endswith(", sent since the fault began")


def test_a_guardrail_is_pending_until_the_fault_s_first_request_completes_and_no_longer():
    probe = _filtered(window=1.0)
    before = [_at(9.5, True)]
    pending = evaluate_client(probe, before, Scope(since=10.0, now=10.3))
    assert (pending.status, pending.ok, pending.value) == ("pending", False, None)
    assert pending.detail == "no request sent since the fault began has completed yet"
    # a whole window inside the fault with nothing completed: no data, as ever
    late = evaluate_client(probe, before, Scope(since=10.0, now=11.0))
    assert late.status == "no data"


# -- validate: what the file itself rules out ------------------------------------------


def _validate(guardrail: str, load_target: str = "") -> list[str]:
    text = EXAMPLE.read_text().replace("guardrails:\n", f"guardrails:\n  - {guardrail}\n", 1)
    if load_target:
        text = text.replace("  target: {service: gateway}\n", f"  target: {load_target}\n", 1)
    try:
        parse_model(text, "exp.yaml", Experiment)
    except InvalidInput as exc:
        return [str(i) for i in exc.issues]
    return []


def test_a_route_the_load_does_not_send_is_named_at_its_line():
    probe = "{name: users, metric: error_ratio, op: '<', threshold: 0.1, route: 'PUT /orders'}"
    assert _validate(probe) == [
        "exp.yaml:44: guardrails.0.route: 'PUT /orders' is not a route of the load (its "
        "routes: GET /products, GET /products/{product_id}, POST /orders)"
    ]
    ok = "{name: users, metric: error_ratio, op: '<', threshold: 0.1, route: 'POST /orders'}"
    assert _validate(ok) == []


def test_a_replica_filter_on_a_load_to_a_url_is_refused_at_its_line():
    probe = "{name: users, metric: error_ratio, op: '<', threshold: 0.1, replicas: faulted}"
    assert _validate(probe) == []  # a load on a service: its records name their replica
    issues = _validate(probe, "{url: 'http://127.0.0.1:8000'}")
    assert issues == [
        "exp.yaml:44: guardrails.0.replicas: the load goes to a URL, whose requests name no "
        "replica: give load.target a service to filter on its replicas"
    ]
    bad = "{name: users, metric: error_ratio, op: '<', threshold: 0.1, replicas: []}"
    assert "name at least one replica" in _validate(bad)[0]


def test_a_during_probe_that_can_never_be_judged_is_named_at_its_line():
    text = EXAMPLE.read_text().replace("duration: 30s", "duration: 10s")
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "exp.yaml", Experiment)
    (issue,) = [str(i) for i in exc.value.issues]
    assert issue.startswith("exp.yaml:54: expectations.during.0.query: can never be judged: ")
    assert "its look-back (15 s range, and one scrape) never lies inside the fault" in issue
    assert "(the faults are in force for 10 s without a break)" in issue
    settled = text.replace(
        "      threshold: 0.99\n  recovery_within",
        "      threshold: 0.99\n      settle: 5s\n  recovery_within",
    )
    assert parse_model(settled, "exp.yaml", Experiment).expectations.during[0].settle == 5
