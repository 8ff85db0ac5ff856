"""Traces on a real stack of its own (+3000): Jaeger runs in it, the load's own
`traceparent` is continued by the gateway over real sockets, and 300 ms on one
gateway→orders link reads as 300 ms in that link on the request's critical path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from harness.clients.jaeger import JaegerClient, Trace, TraceNotFound
from harness.clients.toxiproxy import Toxic, ToxiproxyClient
from harness.load.generator import LoadResult, Record, Route, new_traceparent, run_load
from harness.runtime.local.jaegerconfig import query_url
from harness.traces import critical_path, report_rows, top_hop
from tests.integration.stackfixture import Stack, harness, start_stack, stop_stack
from tests.waiting import wait_for

OFFSET = 3000
LINK = "gateway_orders-2"
ORDERS = [Route("POST", "/orders", json={"product_id": "{id}", "quantity": 1},
                choices={"id": [1, 2, 3]})]  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("traces"), offset=OFFSET)
    yield running
    stop_stack(running)


@pytest.fixture
def jaeger(stack: Stack) -> Iterator[JaegerClient]:
    with JaegerClient(query_url(stack.topo), timeout=5) as client:
        yield client


def _trace(jaeger: JaegerClient, trace_id: str, spans: int) -> Trace | None:
    """The trace once at least `spans` of it have arrived (they come in batches)."""
    try:
        trace = jaeger.trace(trace_id)
    except TraceNotFound:
        return None
    return trace if len(trace.spans) >= spans else None


def test_jaeger_is_a_component_of_the_stack(stack: Stack):
    status = harness("status", "--stack-dir", str(stack.run_dir))
    assert status.returncode == 0, status.stdout + status.stderr
    line = next(x for x in status.stdout.splitlines() if "jaeger" in x)
    assert "healthy" in line and str(stack.topo.jaeger.health_port) in line
    assert (stack.run_dir / "config" / "jaeger.yaml").is_file()


def test_the_gateway_continues_the_callers_trace_to_every_hop(stack: Stack, jaeger: JaegerClient):
    header, trace_id = new_traceparent()
    resp = httpx.get(f"{stack.edge}/products/3", headers={"traceparent": header}, timeout=5)
    assert resp.status_code == 200
    trace = wait_for(lambda: _trace(jaeger, trace_id, 3), 15, "the trace in Jaeger")
    ours = header.split("-")[2]
    gateway = next(s for s in trace.spans if s.kind == "server" and s.service == "gateway")
    assert gateway.parent_id == ours  # the load's span is the gateway's parent
    catalog = next(s for s in trace.spans if s.service == "catalog")
    assert catalog.instance in ("catalog-1", "catalog-2")
    assert set(jaeger.services()) >= {"gateway", "catalog"}


def _traced_load(stack: Stack) -> tuple[LoadResult, float]:
    offset = time.time() - time.monotonic()  # monotonic → wall clock, as a report takes it
    return asyncio.run(run_load(stack.edge, 10, 3, ORDERS)), offset


def test_300ms_on_one_orders_link_shows_on_the_critical_path(stack: Stack, jaeger: JaegerClient):
    toxiproxy = ToxiproxyClient(stack.toxiproxy)
    toxiproxy.add_toxic(LINK, Toxic(name="lat", type="latency", attributes={"latency": 300}))
    start = time.time()
    try:
        result, offset = _traced_load(stack)
    finally:
        toxiproxy.remove_toxic(LINK, "lat")
        toxiproxy.close()
    end = time.time()
    slow = [r for r in result.records if r.ok and r.latency >= 0.3]
    assert slow, f"no request went through {LINK}: {result.summary()}"
    hop = _top_hop(jaeger, stack, slow[0])
    assert hop.peer == LINK and hop.peer_target == "orders-2"
    assert hop.self_ms >= 250, hop
    print(f"\n{slow[0].trace_id}: {hop.describe()}")

    rows = report_rows(result.records, [_Window(start, end)], stack.topo, offset=offset)
    top = rows[0]
    assert top.why == "slowest" and top.trace_id in {r.trace_id for r in slow}
    assert top.hop_where == LINK and top.hop_ms is not None and top.hop_ms >= 250, top
    assert top.trace_url == f"{query_url(stack.topo)}/trace/{top.trace_id}"
    for row in rows:
        print(f"{row.why:8} {row.trace_id} {row.latency_ms:7.1f} ms {row.status} {row.hop}")


def _top_hop(jaeger: JaegerClient, stack: Stack, record: Record):
    assert record.trace_id is not None
    # gateway server + catalog client/server + orders client/server
    trace = wait_for(lambda: _trace(jaeger, record.trace_id or "", 5), 15, "the slow trace")
    hop = top_hop(critical_path(trace, stack.topo))
    assert hop is not None
    return hop


class _Window:
    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
