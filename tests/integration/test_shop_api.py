"""The shop's API through the edge proxy: idempotent orders and bad input."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest

from tests.integration.stackfixture import Stack


def _order(stack: Stack, key: str, product_id: int = 1, quantity: int = 2) -> httpx.Response:
    return httpx.post(
        f"{stack.edge}/orders",
        json={"product_id": product_id, "quantity": quantity},
        headers={"Idempotency-Key": key},
        timeout=10,
    )


def test_products_are_listed_and_fetched(stack: Stack):
    listing = httpx.get(f"{stack.edge}/products", timeout=10)
    assert listing.status_code == 200
    products = listing.json()["products"]
    assert len(products) >= 5
    one = httpx.get(f"{stack.edge}/products/{products[0]['id']}", timeout=10)
    assert one.status_code == 200
    assert one.json()["id"] == products[0]["id"]


def test_retried_post_returns_the_same_order_and_writes_one_row(stack: Stack):
    key = f"test-{uuid.uuid4()}"
    first = _order(stack, key)
    second = _order(stack, key)
    assert first.status_code == 201, first.text
    assert second.status_code == 200, second.text
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json()["id"] == first.json()["id"]
    fetched = httpx.get(f"{stack.edge}/orders/{first.json()['id']}", timeout=10)
    assert fetched.status_code == 200
    assert fetched.json()["id"] == first.json()["id"]
    with psycopg.connect(stack.conninfo()) as conn:
        rows = conn.execute("SELECT count(*) FROM orders WHERE idempotency_key = %s", (key,))
        assert rows.fetchone()[0] == 1


def test_same_key_with_another_body_is_a_conflict(stack: Stack):
    key = f"test-{uuid.uuid4()}"
    assert _order(stack, key, quantity=1).status_code == 201
    clash = _order(stack, key, quantity=5)
    assert clash.status_code == 409
    assert "error" in clash.json()


BAD_INPUT = [
    # (method, path, headers, body, expected status)
    ("POST", "/orders", {"Idempotency-Key": "k-malformed"}, b"{not json", 400),
    ("POST", "/orders", {}, b'{"product_id": 1, "quantity": 1}', 400),
    (
        "POST",
        "/orders",
        {"Idempotency-Key": "k-unknown"},
        b'{"product_id": 999999, "quantity": 1}',
        404,
    ),
    (
        "POST",
        "/orders",
        {"Idempotency-Key": "k-types"},
        b'{"product_id": "one", "quantity": 1}',
        422,
    ),
    ("POST", "/orders", {"Idempotency-Key": "k-qty"}, b'{"product_id": 1, "quantity": 0}', 422),
    ("POST", "/orders", {"Idempotency-Key": "k-missing"}, b'{"quantity": 1}', 422),
    ("POST", "/orders", {"Idempotency-Key": "k-array"}, b"[1, 2, 3]", 422),
    ("POST", "/orders", {"Idempotency-Key": "k-big"}, b'{"pad": "' + b"x" * 70_000 + b'"}', 413),
    ("GET", "/products/999999", {}, None, 404),
    ("GET", "/products/abc", {}, None, 422),
    ("GET", "/orders/not-a-uuid", {}, None, 422),
    ("GET", f"/orders/{uuid.UUID(int=0)}", {}, None, 404),
    ("GET", "/no-such-route", {}, None, 404),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "status"), BAD_INPUT)
def test_bad_input_gets_a_4xx_json_error(stack: Stack, method, path, headers, body, status):
    headers = {"Content-Type": "application/json", **headers}
    resp = httpx.request(method, f"{stack.edge}{path}", headers=headers, content=body, timeout=10)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert "error" in resp.json()


def test_bad_input_writes_nothing(stack: Stack):
    with psycopg.connect(stack.conninfo()) as conn:
        keys = [
            f"k-{name}"
            for name in ("malformed", "unknown", "types", "qty", "missing", "array", "big")
        ]
        rows = conn.execute("SELECT count(*) FROM orders WHERE idempotency_key = ANY(%s)", (keys,))
        assert rows.fetchone()[0] == 0
