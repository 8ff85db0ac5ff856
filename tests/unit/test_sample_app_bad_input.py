"""Bad input anywhere gets a 4xx JSON error and writes nothing; never a 500."""

from __future__ import annotations

import uuid

import httpx
import pytest

from sample_app.testing import in_process_shop

pytestmark = pytest.mark.anyio

KEY = {"Idempotency-Key": "k-1"}

GATEWAY_CASES = [
    # (method, path, headers, body, expected status, expected error code)
    ("POST", "/orders", KEY, b"{not json", 400, "malformed_json"),
    ("POST", "/orders", KEY, b"\xff\xfe", 400, "malformed_json"),
    ("POST", "/orders", KEY, b"", 400, "malformed_json"),
    ("POST", "/orders", {}, b'{"product_id": 1, "quantity": 1}', 400, "missing_idempotency_key"),
    ("POST", "/orders", {"Idempotency-Key": "x" * 201}, b"{}", 400, "invalid_idempotency_key"),
    ("POST", "/orders", KEY, b'{"product_id": 999999, "quantity": 1}', 404, "product_not_found"),
    ("POST", "/orders", KEY, b'{"product_id": "one", "quantity": 1}', 422, "validation_failed"),
    ("POST", "/orders", KEY, b'{"product_id": 1.0, "quantity": 1}', 422, "validation_failed"),
    ("POST", "/orders", KEY, b'{"product_id": true, "quantity": 1}', 422, "validation_failed"),
    ("POST", "/orders", KEY, b'{"product_id": 1, "quantity": 0}', 422, "validation_failed"),
    ("POST", "/orders", KEY, b'{"product_id": 1, "quantity": 101}', 422, "validation_failed"),
    (
        "POST",
        "/orders",
        KEY,
        b'{"product_id": 99999999999, "quantity": 1}',
        422,
        "validation_failed",
    ),
    ("POST", "/orders", KEY, b'{"quantity": 1}', 422, "validation_failed"),
    ("POST", "/orders", KEY, b'{"product_id": 1, "quantity": 1, "x": 1}', 422, "validation_failed"),
    ("POST", "/orders", KEY, b"[1, 2, 3]", 422, "validation_failed"),
    ("POST", "/orders", KEY, b"null", 422, "validation_failed"),
    ("POST", "/orders", KEY, b'{"pad": "' + b"x" * 70_000 + b'"}', 413, "payload_too_large"),
    ("GET", "/products/999999", {}, None, 404, "product_not_found"),
    ("GET", "/products/abc", {}, None, 422, "validation_failed"),
    ("GET", "/products/0", {}, None, 422, "validation_failed"),
    ("GET", "/orders/not-a-uuid", {}, None, 422, "validation_failed"),
    ("GET", f"/orders/{uuid.UUID(int=0)}", {}, None, 404, "order_not_found"),
    ("GET", "/no-such-route", {}, None, 404, "not_found"),
    ("DELETE", "/orders", {}, None, 405, "method_not_allowed"),
    ("GET", "/products", {"X-Request-Deadline-Ms": "soon"}, None, 400, "bad_deadline"),
    ("GET", "/products", {"X-Request-Deadline-Ms": "0"}, None, 504, "deadline_exceeded"),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "code"), GATEWAY_CASES)
async def test_gateway_answers_bad_input_with_a_json_4xx(method, path, headers, body, status, code):
    shop = in_process_shop()
    async with shop.client() as client:
        headers = {"Content-Type": "application/json", **headers}
        response = await client.request(method, path, headers=headers, content=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert shop.store.by_key == {}  # nothing half-written


async def test_oversized_streamed_body_without_content_length_is_refused():
    shop = in_process_shop()

    async def chunks():
        for _ in range(10):
            yield b"x" * 4096

    async with shop.client() as client:
        response = await client.post("/orders", headers=KEY, content=chunks())
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_declared_length_over_the_limit_is_refused_before_reading():
    shop = in_process_shop()
    async with shop.client() as client:
        request = client.build_request("POST", "/orders", headers=KEY, content=b"{}")
        request.headers["Content-Length"] = "999999"
        response = await client.send(request)
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("app_name", "method", "path", "headers", "body", "status"),
    [
        ("orders-1", "POST", "/orders", {}, b'{"product_id": 1, "quantity": 1}', 400),
        ("orders-1", "POST", "/orders", KEY, b"{oops", 400),
        ("orders-1", "POST", "/orders", KEY, b'{"product_id": 1, "quantity": -1}', 422),
        ("orders-1", "GET", "/orders/123", {}, None, 422),
        ("catalog-1", "GET", "/products/-3", {}, None, 422),
        ("catalog-1", "GET", "/products/13", {}, None, 404),
        ("catalog-1", "POST", "/products", {}, b"{}", 405),
    ],
)
async def test_services_behind_the_gateway_validate_too(
    app_name, method, path, headers, body, status
):
    shop = in_process_shop()
    transport = shop.transport.routes[f"{app_name}:{8001 if app_name.startswith('cat') else 8002}"]
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        response = await client.request(method, path, headers=headers, content=body)
    assert response.status_code == status, response.text
    assert "error" in response.json()
    assert shop.store.by_key == {}
