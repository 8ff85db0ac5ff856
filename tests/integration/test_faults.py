"""Real faults on the real stack: latency, a killed replica, a lost database link."""

from __future__ import annotations

import asyncio
import signal
import statistics
import time
import uuid

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from harness.clients.toxiproxy import Toxic, ToxiproxyClient
from harness.procs import ProcessRef
from tests.integration.stackfixture import Stack
from tests.waiting import wait_for


def _samples(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a /metrics page, keyed by (name, labels)."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def _sum(samples: dict, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= lab)


def _catalog_call_mean(stack: Stack, n: int) -> tuple[float, float]:
    """(mean catalog call seconds as the gateway measured it, client p50) over n requests."""
    gw = stack.replica_url("gateway-1")
    before = _samples(gw)
    client = []
    with httpx.Client(timeout=10) as http:
        for _ in range(n):
            start = time.perf_counter()
            assert http.get(f"{stack.edge}/products").status_code == 200
            client.append(time.perf_counter() - start)
    after = _samples(gw)
    name = "dependency_request_duration_seconds"
    total = _sum(after, f"{name}_sum", dependency="catalog") - _sum(
        before, f"{name}_sum", dependency="catalog"
    )
    count = _sum(after, f"{name}_count", dependency="catalog") - _sum(
        before, f"{name}_count", dependency="catalog"
    )
    assert count >= n
    return total / count, statistics.median(client)


def _timed_orders(
    stack: Stack, n: int, timeout: float, headers: dict[str, str] | None = None
) -> tuple[list[int], list[float], list[str]]:
    """POST n orders one after another: (statuses, seconds each, content types)."""
    statuses, durations, types = [], [], []
    with httpx.Client(timeout=timeout) as http:
        for _ in range(n):
            start = time.perf_counter()
            r = http.post(
                f"{stack.edge}/orders",
                json={"product_id": 1, "quantity": 1},
                headers={"Idempotency-Key": str(uuid.uuid4()), **(headers or {})},
            )
            durations.append(time.perf_counter() - start)
            statuses.append(r.status_code)
            types.append(r.headers.get("content-type", ""))
    return statuses, durations, types


def test_latency_toxic_on_catalog_links_adds_about_200ms(stack: Stack, toxiproxy: ToxiproxyClient):
    base_mean, base_p50 = _catalog_call_mean(stack, 30)
    links = [link.name for link in stack.topo.links_from("gateway") if "catalog" in link.target]
    for name in links:
        toxiproxy.add_toxic(
            name, Toxic(name="latency", type="latency", attributes={"latency": 200, "jitter": 0})
        )
    slow_mean, slow_p50 = _catalog_call_mean(stack, 20)
    for name in links:
        toxiproxy.remove_toxic(name, "latency")
    restored_mean, _ = _catalog_call_mean(stack, 30)

    assert 0.17 <= slow_mean - base_mean <= 0.26, (base_mean, slow_mean)
    assert 0.17 <= slow_p50 - base_p50 <= 0.26, (base_p50, slow_p50)
    assert restored_mean - base_mean < 0.03, (base_mean, restored_mean)


async def _post_orders(edge: str, rate: float, seconds: float) -> list[tuple[str, int, str | None]]:
    """Open-loop POSTs at a fixed rate; returns (key, status, order id) for each."""
    async with httpx.AsyncClient(timeout=10) as client:

        async def one(key: str) -> tuple[str, int, str | None]:
            try:
                r = await client.post(
                    f"{edge}/orders",
                    json={"product_id": 1, "quantity": 1},
                    headers={"Idempotency-Key": key},
                )
            except httpx.HTTPError:
                return key, 0, None
            return key, r.status_code, r.json().get("id") if r.status_code < 300 else None

        tasks = []
        start = time.monotonic()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(f"kill-{uuid.uuid4()}")))
        return list(await asyncio.gather(*tasks))


def test_sigkill_of_an_orders_replica_loses_no_acknowledged_order(stack: Stack):
    victim = stack.state.component("orders-2")
    ref = victim.process()
    assert ref is not None and ref.alive()

    async def scenario():
        load = asyncio.create_task(_post_orders(stack.edge, rate=25, seconds=8))
        await asyncio.sleep(2.5)
        ref.send(signal.SIGKILL)
        return await load

    results = asyncio.run(scenario())
    ok = [(key, oid) for key, status, oid in results if 200 <= status < 300]
    assert len(ok) >= 0.99 * len(results), [r for r in results if not 200 <= r[1] < 300]

    restarted = wait_for(
        lambda: (
            (c := stack.state.component("orders-2")).restarts >= victim.restarts + 1
            and c.pid != victim.pid
            and c
        ),
        20,
        "the supervisor to restart orders-2",
    )
    new = ProcessRef(restarted.pid, restarted.start_time)
    assert new.alive()
    wait_for(
        lambda: (
            httpx.get(f"{stack.replica_url('orders-2')}/health/ready", timeout=2).status_code == 200
        ),
        20,
        "orders-2 ready again",
    )

    with psycopg.connect(stack.conninfo()) as conn:
        rows = conn.execute(
            "SELECT idempotency_key, id::text FROM orders WHERE idempotency_key = ANY(%s)",
            ([k for k, _ in ok],),
        ).fetchall()
    assert dict(rows) == dict(ok)


def test_supervisor_restart_is_counted_as_a_metric(stack: Stack):
    series = wait_for(
        lambda: stack.promql('harness_component_restarts_total{component="orders-2"} > 0'),
        20,
        "the restart counter in Prometheus (after the kill test)",
    )
    assert float(series[0]["value"][1]) >= 1


def test_lost_database_link_takes_the_replica_out_of_rotation(
    stack: Stack, toxiproxy: ToxiproxyClient
):
    orders1 = stack.replica_url("orders-1")
    toxiproxy.set_enabled("orders-1_postgres", False)
    wait_for(
        lambda: httpx.get(f"{orders1}/health/ready", timeout=2).status_code == 503,
        10,
        "orders-1 to report not ready",
    )
    wait_for(
        lambda: (
            _sum(_samples(stack.replica_url("gateway-1")), "upstream_healthy", upstream="orders-1")
            == 0
        ),
        10,
        "the gateway to take orders-1 out",
    )

    served_before = _sum(
        _samples(orders1), "http_server_requests_total", route="/orders", method="POST"
    )
    statuses, durations, _ = _timed_orders(stack, 30, timeout=10)
    served_after = _sum(
        _samples(orders1), "http_server_requests_total", route="/orders", method="POST"
    )

    assert all(s == 201 for s in statuses), statuses
    assert served_after == served_before
    assert max(durations) < 2.5  # the gateway's default deadline is 2 s

    toxiproxy.set_enabled("orders-1_postgres", True)
    wait_for(
        lambda: httpx.get(f"{orders1}/health/ready", timeout=2).status_code == 200,
        15,
        "orders-1 ready again",
    )


def test_blackholed_database_never_hangs_a_request_past_its_deadline(
    stack: Stack, toxiproxy: ToxiproxyClient
):
    for n in (1, 2, 3):
        toxiproxy.add_toxic(
            f"orders-{n}_postgres",
            Toxic(name="blackhole", type="timeout", stream="upstream", attributes={"timeout": 0}),
        )
    statuses, durations, types = _timed_orders(
        stack, 5, timeout=15, headers={"X-Request-Deadline-Ms": "1000"}
    )
    assert all(t.startswith("application/json") for t in types), types
    assert all(s in (502, 503, 504) for s in statuses), statuses
    assert max(durations) < 1.5, durations
