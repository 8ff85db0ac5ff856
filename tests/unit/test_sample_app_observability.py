"""Logs, metrics and trace propagation of the services."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from sample_app.catalog.app import build_catalog_app
from sample_app.gateway.app import build_gateway_app
from sample_app.observability.logs import setup_logging
from sample_app.testing import MemoryOrderStore, in_process_shop, memory_orders_app
from sample_app.web.app import ServiceContext

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
FORBIDDEN_LABELS = {"replica", "instance", "job"}


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """JSON logs of everything logged during the test, one object per line."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    setup_logging("gateway", "gateway-1", "INFO", stream)
    yield stream
    root.handlers, root.level = saved[0], saved[1]
    logging.getLogger("uvicorn.access").disabled = False


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def traceparent() -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


@pytest.mark.anyio
async def test_one_json_access_line_per_request_carrying_the_trace(logs):
    app = build_catalog_app(ServiceContext("catalog", "catalog-1"))
    trace_id, header = traceparent()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c") as c:
        assert (await c.get("/products/3", headers={"traceparent": header})).status_code == 200
    access = [r for r in records(logs) if r.get("logger") == "sample_app.access"]
    assert len(access) == 1
    line = access[0]
    assert line["trace_id"] == trace_id
    assert re.fullmatch(r"[0-9a-f]{16}", line["span_id"])
    assert line["route"] == "/products/{product_id}"
    assert (line["method"], line["status"], line["level"]) == ("GET", 200, "INFO")
    assert isinstance(line["duration_ms"], float)
    for key in ("timestamp", "service", "replica", "message"):
        assert key in line


@pytest.mark.anyio
async def test_metrics_serve_openmetrics_with_trace_exemplars_when_asked():
    ctx = ServiceContext("catalog", "catalog-1")
    app = build_catalog_app(ctx)
    trace_id, header = traceparent()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c") as c:
        await c.get("/products", headers={"traceparent": header})
        await c.get("/nowhere/42")
        open_metrics = await c.get("/metrics", headers={"Accept": OPENMETRICS})
        plain = await c.get("/metrics")
    assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
    assert f'trace_id="{trace_id}"' in open_metrics.text
    assert open_metrics.text.rstrip().endswith("# EOF")
    assert plain.headers["content-type"].startswith("text/plain")
    labels = {"service": "catalog", "route": "unmatched", "method": "GET", "code": "404"}
    assert ctx.registry.get_sample_value("http_server_requests_total", labels) == 1
    # probes and scrapes are not traffic
    assert 'route="/metrics"' not in plain.text


@pytest.mark.anyio
async def test_every_metric_has_bounded_labels_and_none_that_clash_with_target_labels():
    shop = in_process_shop()
    async with shop.client() as client:
        await client.get("/products")
        await client.post("/orders", json={"product_id": 1, "quantity": 1},
                          headers={"Idempotency-Key": "m"})  # fmt: skip
        await client.get(f"/orders/{secrets.token_hex(16)}")
    names = set()
    for ctx in shop.contexts.values():
        for family in ctx.registry.collect():
            for sample in family.samples:
                names.add(sample.name)
                assert not FORBIDDEN_LABELS & sample.labels.keys(), sample
                assert (
                    "route" not in sample.labels
                    or "{" in sample.labels["route"]
                    or (sample.labels["route"] in {"/products", "/orders", "unmatched"})
                )
    assert {
        "http_server_requests_total",
        "http_server_request_duration_seconds_bucket",
        "http_server_requests_in_flight",
        "dependency_request_duration_seconds_bucket",
        "dependency_retries_total",
        "circuit_breaker_state",
        "upstream_healthy",
        "outlier_ejections_total",
        "requests_shed_total",
        "degraded_responses_total",
        "bulkhead_in_use",
        "bulkhead_limit",
    } <= names


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Run `app` with uvicorn on a free loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):
            await task


@pytest.mark.anyio
async def test_traceparent_crosses_every_hop_over_real_sockets(logs):
    catalog = build_catalog_app(ServiceContext("catalog", "catalog-1"))
    orders = memory_orders_app(ServiceContext("orders", "orders-1"), MemoryOrderStore())
    async with serving(catalog) as catalog_url, serving(orders) as orders_url:
        flags = [f"catalog-1={catalog_url}", f"orders-1={orders_url}"]
        gateway = build_gateway_app(ServiceContext("gateway", "gateway-1"), flags)
        async with serving(gateway) as gateway_url, httpx.AsyncClient() as client:
            trace_id, header = traceparent()
            response = await client.post(
                f"{gateway_url}/orders",
                json={"product_id": 2, "quantity": 1},
                headers={"Idempotency-Key": "t-1", "traceparent": header},
            )
    assert response.status_code == 201, response.text
    traced = [r for r in records(logs) if r.get("trace_id") == trace_id and r.get("route")]
    hops = sorted((r["method"], r["route"]) for r in traced)
    # gateway and orders both served POST /orders; the catalog served the product check
    assert hops == [("GET", "/products/{product_id}"), ("POST", "/orders"), ("POST", "/orders")]
    assert len({r["span_id"] for r in traced}) == 3
