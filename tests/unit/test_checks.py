"""Checks after the fault (`expectations.checks`): the file format, then each kind.

HTTP checks run against an in-memory transport; SQL checks against a real PostgreSQL
are an integration matter (tests/integration/test_checks.py): here, what needs none.
"""

from __future__ import annotations

import asyncio
import base64
import random
import socket
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from harness.errors import InvalidInput
from harness.experiment.context import Outcome
from harness.experiment.phases import run_checks
from harness.load.generator import LoadResult, Record, Route, _one
from harness.probes.checks import CheckResult, check_http, check_sql, run_check
from harness.probes.checks.common import acknowledged, value_of
from harness.probes.checks.http import CONCURRENCY, fill
from harness.safety.journal import Journal
from harness.specs.experiment import AckedRoute, Experiment, HttpCheck, SqlCheck
from harness.specs.topology import load_topology
from harness.specs.yamlload import parse_model

ROOT = Path(__file__).resolve().parents[2]
SHOP = (ROOT / "experiments" / "orders-kill-one.yaml").read_text()
ORDERS = AckedRoute(method="POST", path="/orders")


def _parse(text: str) -> Experiment:
    return parse_model(text, "exp.yaml", Experiment)


def _issues(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as exc:
        _parse(text)
    return [str(i) for i in exc.value.issues]


def _http(path: str = "/orders/{id}", **extra: object) -> HttpCheck:
    spec = {"from": {"path": "/orders"}, "request": {"path": path}, **extra}
    return HttpCheck.model_validate({"name": "readable", "http": spec})


def _sql(key: str = "idempotency_key") -> SqlCheck:
    query = "SELECT k FROM t WHERE k = ANY(%(keys)s)"
    spec = {"database": "postgres", "query": query, "from": {"path": "/orders"}, "key": key}
    return SqlCheck.model_validate({"name": "stored", "sql": spec})


def _post(n: int, status: int = 201, body: dict | None = None) -> Record:
    body = {"id": f"o{n}"} if body is None else body
    return Record("POST /orders", 0.0, 0.01, status, None, f"k{n}", body)


# -- the file format -----------------------------------------------------------------


def test_the_shop_experiment_declares_both_kinds():
    kinds = [type(c).__name__ for c in _parse(SHOP).expectations.checks]
    assert kinds == ["HttpCheck", "SqlCheck"]


def test_the_removed_flag_names_its_replacement():
    text = SHOP.replace("  checks:\n", "  acknowledged_writes_persisted: true\n  checks:\n")
    (issue,) = _issues(text)
    line = SHOP.splitlines().index("  checks:") + 1  # where the old key now stands
    assert issue.startswith(f"exp.yaml:{line}: expectations.acknowledged_writes_persisted: removed:")
    assert "declare `checks` instead" in issue


@pytest.mark.parametrize(
    ("old", "new", "issue"),
    [
        ('"/orders/{id}"', '"/orders/{id[0]}"', "expectations.checks.0.http.request.path: "),
        ('"/orders/{id}"', '"/orders/{id.}"', "expectations.checks.0.http.request.path: "),
        ('"/orders/{id}"', '"/orders/{}"', "expectations.checks.0.http.request.path: "),
        ('"/orders/{id}"', '"/orders/{id"', "expectations.checks.0.http.request.path: "),
        ("= ANY(%(keys)s)", "= ANY(%s)", "the query must take %(keys)s"),
        ("SELECT idem", "SELECT '%' || idem", "write %% for a literal %"),
        ("{method: POST, path: /orders}\n        request", "{method: GET, path: /orders}\n        request", "checks.0.http.from.method"),
        ("key: idempotency_key", "key: a-b", "checks.1.sql.key"),
        ("database: postgres", "database: mysql", "checks.1.sql.database"),
        ("acknowledged-orders-stored", "acknowledged-orders-readable", "check names must be unique"),
        ("      sql:\n", "      http: {}\n      sql:\n", "checks.1: give exactly one of http or sql"),
    ],
)  # fmt: skip
def test_a_bad_check_is_rejected_where_it_is_written(old, new, issue):
    assert old in SHOP
    assert any(issue in i for i in _issues(SHOP.replace(old, new, 1))), _issues(
        SHOP.replace(old, new, 1)
    )


# -- which requests, which keys --------------------------------------------------------


def test_only_2xx_answers_of_the_declared_route_are_acknowledged():
    records = [_post(1), _post(2, 503), _post(3, 302), Record("GET /orders", 0.0, 0.1, 200)]
    assert [r.idempotency_key for r in acknowledged(records, ORDERS)] == ["k1"]


def test_keys_come_from_the_header_or_a_scalar_body_field():
    record = _post(1, body={"id": "o1", "n": 7, "ok": True, "items": [1]})
    assert [value_of(record, f) for f in ("idempotency_key", "id", "n", "ok", "items", "x")] == [
        "k1", "o1", "7", "true", None, None,
    ]  # fmt: skip


def test_a_dotted_field_reaches_into_a_wrapped_answer():
    # an API that answers {"data": {"id": ...}} (Kinto, JSON:API): `data.id` is that id
    record = _post(1, body={"data": {"id": "r1", "n": 2, "tags": ["a"]}, "id": "top"})
    assert [value_of(record, f) for f in ("data.id", "data.n", "data.tags", "data.x", "id.x")] == [
        "r1", "2", None, None, None,
    ]  # fmt: skip
    assert fill("/records/{data.id}", record) == "/records/r1"
    assert _http("/records/{data.id}").http.request.path == "/records/{data.id}"
    assert _sql("data.id").sql.key == "data.id"


def test_placeholders_are_filled_and_quoted():
    record = _post(1, body={"id": "a b/c"})
    assert fill("/orders/{id}?key={idempotency_key}", record) == "/orders/a%20b%2Fc?key=k1"
    assert fill("/orders/{missing}", record) is None


def test_the_load_generator_keeps_the_json_body_of_acknowledged_writes_only():
    def shop(request: httpx.Request) -> httpx.Response:
        status = 503 if request.url.path == "/fail" else 201
        return httpx.Response(status, json={"id": "o1"})

    async def send(method: str, path: str) -> Record:
        out: list[Record] = []
        transport = httpx.MockTransport(shop)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            await _one(client, "", Route(method, path), random.Random(1), 0.0, out)
        return out[0]

    post, get, failed = (
        asyncio.run(send(*r)) for r in (("POST", "/o"), ("GET", "/o"), ("POST", "/fail"))
    )
    assert (post.body, post.method, post.path, bool(post.idempotency_key)) == (
        {"id": "o1"},
        "POST",
        "/o",
        True,
    )
    assert (get.body, failed.body) == (None, None)


# -- HTTP ------------------------------------------------------------------------------


def _shop(found: set[str], down: frozenset[str] | set[str] = frozenset()) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        oid = request.url.path.rsplit("/", 1)[1]
        if oid in down:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200 if oid in found else 404)

    return httpx.MockTransport(handle)


def test_http_every_acknowledged_request_read_back_is_a_pass():
    records = [_post(i) for i in range(30)] + [_post(99, 500)]
    result = check_http(
        _http(), records, "http://shop", secrets_dir=ROOT, transport=_shop({f"o{i}" for i in range(30)})
    )
    assert (result.status, result.ok, result.kind) == ("pass", True, "http")
    assert (result.acknowledged, result.verified, result.missed, result.unanswered) == (
        30,
        30,
        0,
        0,
    )
    assert result.evidence == "GET http://shop/orders/{id} expecting 200"


def test_http_a_miss_fails_and_is_listed_even_beside_transport_errors():
    records = [_post(i) for i in range(4)]
    result = check_http(_http(), records, "http://shop", secrets_dir=ROOT, transport=_shop({"o0", "o1"}, {"o3"}))
    assert (result.status, result.verified, result.missed, result.unanswered) == ("fail", 2, 1, 1)
    assert result.missing == ("/orders/o2 -> 404",)
    assert "1 missing (/orders/o2 -> 404)" in result.detail and "1 ConnectError" in result.detail


def test_http_transport_errors_alone_are_an_error_not_a_verdict():
    result = check_http(
        _http(), [_post(1), _post(2)], "http://shop", secrets_dir=ROOT, transport=_shop({"o1"}, {"o2"})
    )
    assert (result.status, result.verified, result.unanswered) == ("error", 1, 1)


def test_http_a_placeholder_the_response_lacks_leaves_the_request_unanswered():
    result = check_http(
        _http("/orders/{order_id}"), [_post(1)], "http://shop", secrets_dir=ROOT, transport=_shop({"o1"})
    )
    assert result.status == "error" and "placeholder not in the response" in result.detail


def test_http_zero_acknowledged_is_no_data_and_names_the_routes_seen():
    records = [_post(1, 503), Record("GET /products", 0.0, 0.01, 200)]
    result = check_http(_http(), records, "http://shop", secrets_dir=ROOT, transport=_shop(set()))
    assert (result.status, result.ok, result.acknowledged) == ("no data", False, 0)
    assert result.detail == "no POST /orders request was acknowledged (2xx): nothing to check"
    other = check_http(_http(), records[1:], "http://shop", secrets_dir=ROOT, transport=_shop(set()))
    assert "made no POST /orders request (it made: GET /products)" in other.detail


def test_http_concurrency_is_bounded_and_the_deadline_ends_the_check():
    in_flight, peak = 0, 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return httpx.Response(200)

    records = [_post(i) for i in range(40)]
    result = check_http(
        _http(deadline="0.12s"), records, "http://shop", secrets_dir=ROOT, transport=httpx.MockTransport(slow)
    )
    assert peak == CONCURRENCY
    assert result.status == "error" and 0 < result.verified < 40
    assert f"deadline passed after {result.verified} of 40" in result.detail


def test_http_the_check_target_overrides_the_load_target():
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200)

    check = _http(target="http://127.0.0.2:81/", expect_status=200)
    check_http(check, [_post(1)], "http://shop", secrets_dir=ROOT, transport=httpx.MockTransport(handle))
    assert seen == ["http://127.0.0.2:81/orders/o1"]


# -- credentials, and a check that could not authenticate --------------------------------


def _guarded(user: str, password: str, found: set[str]) -> tuple[httpx.MockTransport, list]:
    """A shop that answers 401 without the right basic auth, and records what it got."""
    seen: list[httpx.Request] = []
    token = base64.b64encode(f"{user}:{password}".encode()).decode()

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("authorization") != f"Basic {token}":
            return httpx.Response(401)
        return httpx.Response(200 if request.url.path.rsplit("/", 1)[1] in found else 404)

    return httpx.MockTransport(handle), seen


def test_http_basic_auth_and_headers_come_from_the_environment_at_send_time(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SHOP_PASSWORD", "pa55-word")
    (tmp_path / "tenant.txt").write_text("acme\n")
    check = _http(
        basic_auth={"username": "reader", "password": "${SHOP_PASSWORD}"},
        headers={"X-Tenant": "${file:tenant.txt}"},
    )
    assert check.http.basic_auth is not None and check.http.basic_auth.password == "${SHOP_PASSWORD}"
    transport, seen = _guarded("reader", "pa55-word", {"o1"})
    result = check_http(check, [_post(1)], "http://shop", secrets_dir=tmp_path, transport=transport)
    assert (result.status, result.verified) == ("pass", 1)
    assert seen[0].headers["x-tenant"] == "acme"
    assert "pa55-word" not in result.detail + result.evidence


def test_http_a_password_in_the_target_url_is_sent_as_basic_auth_and_never_shown(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("PW", "p@ss/word")
    transport, seen = _guarded("svc", "p@ss/word", {"o1"})
    check = _http(target="http://svc:${PW}@127.0.0.1:8080")
    result = check_http(check, [_post(1)], "http://shop", secrets_dir=tmp_path, transport=transport)
    assert result.status == "pass"
    assert str(seen[0].url) == "http://127.0.0.1:8080/orders/o1"
    assert result.evidence == "GET http://127.0.0.1:8080/orders/{id} expecting 200"


@pytest.mark.parametrize("status", [401, 403])
def test_http_a_denied_read_is_an_error_that_counts_no_write_lost(tmp_path, monkeypatch, status):
    monkeypatch.setenv("X", "wrong")
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status if request.url.path != "/orders/o3" else 404)

    records = [_post(i) for i in range(4)]
    result = check_http(
        _http(), records, "http://u:${X}@127.0.0.1:9", secrets_dir=tmp_path,
        transport=httpx.MockTransport(handle),
    )  # fmt: skip
    assert (result.status, result.verified, result.unanswered, result.missed) == ("error", 0, 3, 1)
    assert result.detail.startswith(
        f"check could not authenticate (HTTP {status} from http://127.0.0.1:9/orders/o"
    )
    assert "lost" not in result.detail and "${X}" not in result.detail


def test_http_an_expected_401_is_no_failure_to_authenticate(tmp_path):
    transport = httpx.MockTransport(lambda request: httpx.Response(401))
    check = _http(expect_status=401)
    result = check_http(check, [_post(1)], "http://shop", secrets_dir=tmp_path, transport=transport)
    assert result.status == "pass"


@pytest.mark.parametrize(
    ("http", "field", "message"),
    [
        ("target: 'http://10.1.2.3:8080'", "http.target", "10.1.2.3 is not loopback"),
        ("target: 'http://${HOST}:80'", "http.target", "${...} goes only in the user:password@"),
        ("target: 'http://u:plain@127.0.0.1:80'", "http.target", "write the password as ${NAME}"),
        ("basic_auth: {username: u, password: plain}", "http.basic_auth.password", "write a credential as ${NAME}"),
        ("basic_auth: {username: u}", "http.basic_auth.password", "Field required"),
        ("headers: {Authorization: 'Bearer abc'}", "http.headers.Authorization", "write the credential as ${NAME}"),
        ("headers: {X-Key: '${1X}'}", "http.headers.X-Key", "${1X}: give ${NAME}"),
        ("headers: {'a b': x}", "http.headers.a b", "not a valid header name"),
    ],
)  # fmt: skip
def test_a_check_credential_or_address_is_refused_at_its_line(http, field, message):
    old = "        expect_status: 200\n"
    assert old in SHOP
    text = SHOP.replace(old, old + f"        {http}\n", 1)
    (issue,) = _issues(text)
    line = text[: text.index(http)].count("\n") + 1
    assert issue.startswith(f"exp.yaml:{line}: expectations.checks.0.{field}: "), issue
    assert message in issue
    assert "plain" not in issue and "abc" not in issue


# -- SQL ---------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def topo():
    return load_topology(ROOT / "stack.yaml")


def test_sql_zero_acknowledged_is_no_data_without_touching_the_database(topo):
    result = check_sql(_sql(), [_post(1, 503)], topo)
    assert (result.status, result.ok, result.acknowledged) == ("no data", False, 0)


def test_sql_an_unreachable_database_is_an_error(topo):
    pg = topo.postgres.model_copy(update={"port": _closed_port()})
    result = check_sql(_sql(), [_post(1), _post(2)], topo.model_copy(update={"postgres": pg}))
    assert (result.status, result.ok, result.unanswered, result.verified) == ("error", False, 2, 0)
    assert "could not query postgres" in result.detail
    assert result.evidence == "postgres: SELECT k FROM t WHERE k = ANY(%(keys)s)"


def test_sql_collects_one_key_per_acknowledged_request(topo, monkeypatch):
    asked: list[list[str]] = []

    def found(spec, topo, keys):
        asked.append(keys)
        return {"o1", "o3"}

    monkeypatch.setattr("harness.probes.checks.sql._found", found)
    records = [_post(1), _post(2), _post(3), _post(4, body={}), _post(5, 500)]
    result = check_sql(_sql(key="id"), records, topo)
    assert asked == [["o1", "o2", "o3"]]
    assert (result.status, result.verified, result.missing, result.unanswered) == (
        "fail",
        2,
        ("o2",),
        1,
    )


# -- the phase: which verdict each status gives --------------------------------------------


def _result(status: str) -> CheckResult:
    return CheckResult("c", "http", status, 1, 0, 0, 0, (), f"it was {status}", "GET /", 0.0, 0.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "verdict", "reason"),
    [
        ("pass", None, None),
        ("fail", "deviated", "check c: it was fail"),
        ("no data", "deviated", "check c: no data: it was no data"),
        ("error", "error", "check c: it was error"),
    ],
)
def test_run_checks_turns_each_status_into_a_verdict(
    tmp_path, monkeypatch, status, verdict, reason
):
    monkeypatch.setattr("harness.experiment.phases.run_check", lambda *a, **k: _result(status))
    ctx = SimpleNamespace(
        exp=_parse(SHOP), load_result=LoadResult([], 0.0, 1.0), plan=None, topo=None,
        source=tmp_path / "exp.yaml",
        outcome=Outcome(), journal=Journal(tmp_path / "j.jsonl", "test"),
    )  # fmt: skip
    run_checks(ctx)  # type: ignore[arg-type]
    assert ctx.outcome.verdict == verdict
    assert ctx.outcome.reasons == ([reason] * 2 if reason else [])
    assert [c.ok for c in ctx.outcome.checks] == [status == "pass"] * 2
    assert [e.fields["status"] for e in ctx.journal.events if e.event == "check"] == [status] * 2


def test_run_check_dispatches_on_the_kind(topo):
    assert run_check(_sql(), [], base_url="", topo=topo, secrets_dir=ROOT).kind == "sql"
    assert run_check(_http(), [], base_url="", topo=topo, secrets_dir=ROOT).kind == "http"
