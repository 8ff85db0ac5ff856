"""Logs, traces and metrics of a request, end to end through Toxiproxy."""

from __future__ import annotations

import json
import secrets
import uuid

import httpx

from tests.integration.stackfixture import Stack
from tests.waiting import wait_for


def _json_lines(stack: Stack, component: str) -> list[dict]:
    out = []
    for line in stack.log_lines(component):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def test_client_trace_id_appears_in_gateway_and_orders_logs(stack: Stack):
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    resp = httpx.post(
        f"{stack.edge}/orders",
        json={"product_id": 2, "quantity": 1},
        headers={"Idempotency-Key": str(uuid.uuid4()), "traceparent": traceparent},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text

    def carrying(component: str) -> list[dict]:
        return [r for r in _json_lines(stack, component) if r.get("trace_id") == trace_id]

    gateway = wait_for(lambda: carrying("gateway-1"), 5, "a gateway log line with the trace id")
    orders = wait_for(
        lambda: [r for n in ("orders-1", "orders-2", "orders-3") for r in carrying(n)],
        5,
        "an orders log line with the trace id",
    )
    for record in gateway + orders:
        assert len(record["span_id"]) == 16
        for key in ("timestamp", "level", "service", "replica", "message"):
            assert key in record, f"{key} missing from {record}"
    assert {r["service"] for r in gateway} == {"gateway"}
    assert {r["service"] for r in orders} == {"orders"}
    access = [r for r in gateway if r.get("route") == "/orders"]
    assert access and access[0]["status"] == 201 and "duration_ms" in access[0]


def test_prometheus_has_golden_signals_for_every_service_and_every_target_up(stack: Stack):
    for _ in range(20):
        httpx.get(f"{stack.edge}/products", timeout=10)
        httpx.get(f"{stack.edge}/products/3", timeout=10)
    httpx.post(
        f"{stack.edge}/orders",
        json={"product_id": 3, "quantity": 1},
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )

    def services_with(query: str) -> set[str]:
        return {r["metric"]["service"] for r in stack.promql(query) if float(r["value"][1]) > 0}

    want = {"gateway", "catalog", "orders"}
    wait_for(
        lambda: services_with("sum by (service) (http_server_requests_total)") >= want,
        20,
        "request counts for every service",
    )
    wait_for(
        lambda: (
            services_with("sum by (service) (http_server_request_duration_seconds_count)") >= want
        ),
        20,
        "latency histograms for every service",
    )
    buckets = stack.promql("count by (service) (http_server_request_duration_seconds_bucket)")
    assert {b["metric"]["service"] for b in buckets} >= want

    targets = httpx.get(f"{stack.prometheus}/api/v1/targets", timeout=5).json()["data"]
    replicas = {
        t["labels"].get("replica"): t["health"]
        for t in targets["activeTargets"]
        if t["labels"].get("replica")
    }
    assert set(replicas) == {r.name for r in stack.topo.replicas}
    wait_for(
        lambda: all(h == "up" for h in _target_health(stack).values()),
        10,
        "every replica target up",
    )


def _target_health(stack: Stack) -> dict[str, str]:
    targets = httpx.get(f"{stack.prometheus}/api/v1/targets", timeout=5).json()["data"]
    return {
        t["labels"]["replica"]: t["health"]
        for t in targets["activeTargets"]
        if t["labels"].get("replica")
    }


def test_latency_exemplars_carry_trace_ids(stack: Stack):
    for _ in range(10):
        httpx.get(f"{stack.edge}/products", timeout=10)

    def exemplars() -> list[dict]:
        now = httpx.get(f"{stack.prometheus}/api/v1/query", params={"query": "time()"}, timeout=5)
        t = float(now.json()["data"]["result"][0])
        resp = httpx.get(
            f"{stack.prometheus}/api/v1/query_exemplars",
            timeout=5,
            params={
                "query": 'http_server_request_duration_seconds_bucket{service="gateway"}',
                "start": t - 300,
                "end": t,
            },
        )
        return [e for series in resp.json()["data"] for e in series["exemplars"]]

    found = wait_for(exemplars, 20, "exemplars on the gateway's latency histogram")
    assert all(len(e["labels"]["trace_id"]) == 32 for e in found)
