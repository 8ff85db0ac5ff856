"""Load routes: headers and JSON bodies with placeholders, filled per request and checked at load."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import uuid

import httpx
import pytest

from harness import secrets
from harness.errors import InvalidInput
from harness.load.background import routes_of
from harness.load.generator import Route, run_load
from harness.specs.experiment import Experiment
from harness.specs.yamlload import parse_model
from tests.unit.test_spec_and_plan import EXAMPLE

ROOT = EXAMPLE.parent

ROUTE = '- {method: GET, path: "/products/{product_id}", weight: 3, choices: {product_id: [1, 2, 3, 4, 5]}}'


def _parse_route(route: str) -> Experiment:
    text = EXAMPLE.read_text()
    assert ROUTE in text
    return parse_model(text.replace(ROUTE, route, 1), "exp.yaml", Experiment)


def _issues(route: str) -> list[str]:
    with pytest.raises(InvalidInput) as exc:
        _parse_route(route)
    return sorted(str(i) for i in exc.value.issues)


# -- rendering -------------------------------------------------------------------------


def test_one_pick_fills_path_headers_and_body_alike():
    route = Route(
        "PUT",
        "/carts/{cart}",
        json={"cart": "{cart}", "note": "cart {cart}"},
        choices={"cart": [1, 2, 3]},
        headers={"X-Cart": "{cart}"},
    )
    for seed in range(10):
        path, body, headers = route.render(random.Random(seed))
        cart = body["cart"]
        assert path == f"/carts/{cart}"
        assert headers["x-cart"] == str(cart) and body["note"] == f"cart {cart}"


def test_a_whole_placeholder_keeps_its_type_and_one_inside_text_is_text():
    route = Route(
        "POST",
        "/orders",
        json={
            "order": {"items": [{"product_id": "{pid}", "label": "item-{pid}"}], "gift": "{gift}"},
            "tags": ["{who}", "for {who} and {pid}", "{{literal}}", 7, None],
            "who": "{who}",
        },
        choices={"pid": [3], "who": ["ann"], "gift": [True]},
    )
    _, body, _ = route.render(random.Random(1))
    assert body == {
        "order": {"items": [{"product_id": 3, "label": "item-3"}], "gift": True},
        "tags": ["ann", "for ann and 3", "{literal}", 7, None],
        "who": "ann",
    }
    assert route.json["order"]["items"][0]["product_id"] == "{pid}"  # the template stays


def test_header_values_are_filled_as_text():
    route = Route(
        "GET",
        "/",
        choices={"tenant": [7], "region": ["eu"]},
        headers={"X-Tenant": "{tenant}", "X-Where": "{region}-{tenant}", "Accept": "text/plain"},
    )
    _, body, headers = route.render(random.Random(0))
    assert body is None
    assert dict(headers) == {"x-tenant": "7", "x-where": "eu-7", "accept": "text/plain"}


def test_a_post_gets_a_fresh_idempotency_key_unless_the_route_sets_one():
    rng = random.Random(0)
    keys = {Route("POST", "/orders").render(rng)[2]["Idempotency-Key"] for _ in range(5)}
    assert len(keys) == 5
    assert "idempotency-key" not in Route("GET", "/orders").render(rng)[2]
    own = Route("POST", "/orders", choices={"n": [4]}, headers={"idempotency-key": "k-{n}"})
    headers = own.render(rng)[2]
    assert headers.get_list("Idempotency-Key") == ["k-4"]


def test_the_spec_carries_headers_and_nested_bodies_to_the_generator():
    exp = _parse_route(
        '- {method: POST, path: "/t/{t}", headers: {X-T: "t{t}"}, '
        'json: {a: [{b: "{t}"}]}, choices: {t: [5]}}'
    )
    assert exp.load is not None
    route = routes_of(exp.load, secrets_dir=ROOT)[1]
    assert (route.headers, route.json) == ({"X-T": "t{t}"}, {"a": [{"b": "{t}"}]})
    assert route.render(random.Random(0))[:2] == ("/t/5", {"a": [{"b": 5}]})


def test_the_generator_sends_the_route_headers_and_keeps_the_routes_own_key():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "1"})

    routes = [
        Route(
            "POST",
            "/o",
            json={"n": "{n}"},
            choices={"n": [9]},
            headers={"Idempotency-Key": "key-{n}", "X-Run": "r{n}"},
        )
    ]
    result = asyncio.run(
        run_load(
            "http://127.0.0.1:1",
            50,
            0.1,
            routes,
            headers={"X-All": "yes"},
            transport=httpx.MockTransport(answer),
        )
    )
    assert len(seen) == len(result.records) == 5
    for request in seen:
        assert request.headers["idempotency-key"] == "key-9"
        assert (request.headers["x-run"], request.headers["x-all"]) == ("r9", "yes")
        assert json.loads(request.content) == {"n": 9}
    assert {r.idempotency_key for r in result.records} == {"key-9"}


# -- what is checked when the file is loaded ---------------------------------------------


def test_a_header_placeholder_without_choices_is_reported_at_its_line():
    assert _issues('- {path: /p, headers: {X-Tenant: "t-{tenant}", X-Ok: plain}}') == [
        "exp.yaml:26: load.routes.1.headers.X-Tenant: placeholder {tenant} has no entry in choices"
    ]


def test_bad_header_names_values_and_placeholders_are_reported():
    route = '- {path: /p, headers: {"X Bad": a, X-Nl: "a\\nb", X-F: "{n!r}", X-B: "{"}, choices: {n: [1]}}'
    assert _issues(route) == [
        "exp.yaml:26: load.routes.1.headers.X Bad: 'X Bad' is not a valid header name",
        "exp.yaml:26: load.routes.1.headers.X-B: '{': Single '{' encountered in format string "
        "(write {{ and }} for braces)",
        "exp.yaml:26: load.routes.1.headers.X-F: placeholder {n} must be a plain {name}",
        "exp.yaml:26: load.routes.1.headers.X-Nl: a header value cannot hold a line break",
    ]


def test_a_nested_body_placeholder_without_choices_is_reported_at_its_own_line():
    route = (
        "- method: POST\n"
        "      path: /orders\n"
        "      json:\n"
        "        order:\n"
        "          items:\n"
        '            - {product_id: "{pid}", note: "for {who}"}\n'
        '          ref: "ref-{ref}"\n'
        "      choices: {pid: [1]}"
    )
    assert _issues(route) == [
        "exp.yaml:31: load.routes.1.json.order.items.0.note: "
        "placeholder {who} has no entry in choices",
        "exp.yaml:32: load.routes.1.json.order.ref: placeholder {ref} has no entry in choices",
    ]


def test_a_top_level_list_body_is_checked_too():
    assert _issues('- {method: POST, path: /batch, json: [1, "{n}"]}') == [
        "exp.yaml:26: load.routes.1.json.1: placeholder {n} has no entry in choices"
    ]


def test_filled_headers_and_bodies_are_fine():
    exp = _parse_route(
        '- {method: POST, path: /o, headers: {X-A: "{a}"}, json: {x: ["{a}", "{{b}}"]}, '
        "choices: {a: [1]}}"
    )
    assert exp.load is not None and exp.load.routes[1].headers == {"X-A": "{a}"}


# -- unique values: {uuid} and {seq} ------------------------------------------------------


def test_uuid_and_seq_need_no_choices_and_are_one_value_per_request():
    route = Route(
        "POST",
        "/items/{seq}",
        json={"id": "{uuid}", "n": "{seq}", "label": "item {seq} ({uuid})"},
        headers={"X-Request": "{uuid}"},
    )
    rng = random.Random(0)
    seen = [route.render(rng) for _ in range(3)]
    assert [path for path, _, _ in seen] == ["/items/1", "/items/2", "/items/3"]
    for path, body, headers in seen:
        assert uuid.UUID(body["id"]).version == 4 and headers["x-request"] == body["id"]
        assert body["n"] == int(path.rsplit("/", 1)[1])  # a whole "{seq}" stays a number
        assert body["label"] == f"item {body['n']} ({body['id']})"
    assert len({body["id"] for _, body, _ in seen}) == 3


def test_a_runs_routes_share_one_counter_from_one():
    exp = _parse_route('- {method: POST, path: "/b/{seq}"}')
    assert exp.load is not None
    first, second = routes_of(exp.load, secrets_dir=ROOT)[:2]
    rng = random.Random(0)
    paths = [r.render(rng)[0] for r in (second, first, second)]
    assert paths == ["/b/1", "/products", "/b/3"]  # the first route counted one too
    again = routes_of(exp.load, secrets_dir=ROOT)[1]  # another run counts from 1 again
    assert again.render(rng)[0] == "/b/1"


@pytest.mark.parametrize("name", ["uuid", "seq"])
def test_uuid_and_seq_are_reserved_names_in_choices(name):
    assert _issues(f'- {{path: "/p/{{{name}}}", choices: {{{name}: [1]}}}}') == [
        f"exp.yaml:26: load.routes.1.choices.{name}: {name} is reserved: {{{name}}} is "
        + ("a fresh UUID4 per request" if name == "uuid" else "the run's request counter")
        + ("" if name == "uuid" else " (1, 2, 3, ...: one per request, across routes)")
    ]


# -- secrets in headers and basic auth ---------------------------------------------------


@pytest.fixture
def _forget():
    yield
    secrets.forget_all()


def test_header_secrets_validate_without_the_environment_and_resolve_at_start(
    monkeypatch, _forget
):
    monkeypatch.delenv("LOAD_TOKEN", raising=False)
    exp = _parse_route('- {path: "/p/{n}", headers: {Authorization: "Bearer ${LOAD_TOKEN}-{n}"}, choices: {n: [2]}}')
    assert exp.load is not None and exp.load.routes[1].headers["Authorization"].endswith("${LOAD_TOKEN}-{n}")
    monkeypatch.setenv("LOAD_TOKEN", "t{0}k")
    route = routes_of(exp.load, secrets_dir=ROOT)[1]
    assert route.render(random.Random(0))[2]["authorization"] == "Bearer t{0}k-2"
    assert secrets.redact("Bearer t{0}k") == "Bearer ***"


def test_load_basic_auth_goes_on_every_route_unless_one_sets_its_own(monkeypatch, _forget):
    monkeypatch.setenv("LOAD_PW", "pw-9")
    text = EXAMPLE.read_text().replace(
        ROUTE, ROUTE + '\n    - {path: /mine, headers: {authorization: "Token ${LOAD_PW}"}}', 1
    )
    text = text.replace("  routes:\n", "  basic_auth: {username: shop, password: '${LOAD_PW}'}\n  routes:\n", 1)
    exp = parse_model(text, "exp.yaml", Experiment)
    assert exp.load is not None
    routes = routes_of(exp.load, secrets_dir=ROOT)
    token = "Basic " + base64.b64encode(b"shop:pw-9").decode()
    sent = {r.path: r.render(random.Random(0))[2].get_list("authorization") for r in routes}
    assert sent.pop("/mine") == ["Token pw-9"]
    assert list(sent.values()) == [[token]] * 3


def test_a_password_in_the_load_url_becomes_basic_auth(monkeypatch, _forget):
    monkeypatch.setenv("LOAD_PW", "a@b/c")
    old = "  target: {service: gateway}\n"
    text = EXAMPLE.read_text().replace(old, "  target: {url: 'http://shop:${LOAD_PW}@127.0.0.1:1'}\n")
    exp = parse_model(text, "exp.yaml", Experiment)
    assert exp.load is not None
    (route, *_) = routes_of(exp.load, secrets_dir=ROOT)
    expected = "Basic " + base64.b64encode(b"shop:a@b/c").decode()
    assert route.render(random.Random(0))[2]["authorization"] == expected


@pytest.mark.parametrize(
    ("route", "issue"),
    [
        ('- {path: "/p/${X}"}', "load.routes.1.path: ${...} (a secret) is taken in header values"),
        ('- {method: POST, path: /p, json: {a: "${X}"}}', "load.routes.1.json.a: ${...} (a secret)"),
        ('- {path: /p, headers: {X-A: "${X"}}', "load.routes.1.headers.X-A: an unclosed or nested ${"),
        ('- {path: /p, headers: {Authorization: "Bearer abc"}}', "write the credential as ${NAME}"),
    ],
)  # fmt: skip
def test_a_secret_where_none_is_taken_or_a_credential_written_out_is_refused(route, issue):
    (found,) = _issues(route)
    assert found.startswith("exp.yaml:26: ") and issue in found
