"""Idempotent order creation: canonical hashing, replay, conflict; end to end in memory."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from sample_app.orders.model import (
    IdempotencyConflict,
    Order,
    OrderRequest,
    replay_or_conflict,
)
from sample_app.testing import in_process_shop
from sample_app.web.body import parse_model


def request(raw: bytes) -> OrderRequest:
    return parse_model(raw, OrderRequest)


def test_hash_ignores_key_order_and_whitespace():
    a = request(b'{"product_id": 3, "quantity": 2}')
    b = request(b'{ "quantity":2,"product_id":3 }')
    assert a.canonical_hash() == b.canonical_hash()
    assert len(a.canonical_hash()) == 64


def test_hash_differs_when_any_field_differs():
    base = request(b'{"product_id": 3, "quantity": 2}').canonical_hash()
    assert request(b'{"product_id": 3, "quantity": 3}').canonical_hash() != base
    assert request(b'{"product_id": 4, "quantity": 2}').canonical_hash() != base


def order_with(digest: str) -> Order:
    return Order(uuid4(), 3, 2, "created", datetime.now(UTC), digest)


def test_same_hash_replays_the_original_order():
    digest = request(b'{"product_id": 3, "quantity": 2}').canonical_hash()
    existing = order_with(digest)
    result = replay_or_conflict(existing, digest)
    assert result.replayed and result.order is existing


def test_other_hash_is_a_conflict():
    existing = order_with("a" * 64)
    with pytest.raises(IdempotencyConflict):
        replay_or_conflict(existing, "b" * 64)


@pytest.mark.anyio
async def test_retried_post_through_the_gateway_creates_one_order():
    shop = in_process_shop()
    body = {"product_id": 3, "quantity": 2}
    async with shop.client() as client:
        first = await client.post("/orders", json=body, headers={"Idempotency-Key": "k"})
        again = await client.post("/orders", json=body, headers={"Idempotency-Key": "k"})
        clash = await client.post(
            "/orders", json={**body, "quantity": 5}, headers={"Idempotency-Key": "k"}
        )
        other = await client.post("/orders", json=body, headers={"Idempotency-Key": "k2"})
        fetched = await client.get(f"/orders/{first.json()['id']}")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "idempotency_key_reused"
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert fetched.status_code == 200 and fetched.json() == first.json()
    assert len(shop.store.by_key) == 2
