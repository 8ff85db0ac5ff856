"""The gateway's dependency client: retries, replicas, deadlines, breakers, bulkheads."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import httpx
import pytest
from prometheus_client import CollectorRegistry

from sample_app.gateway.catalog_view import CatalogView
from sample_app.gateway.dependency import DependencyClient, DependencyError
from sample_app.observability.metrics import DependencyMetrics
from sample_app.resilience import (
    DEADLINE_HEADER,
    Backoff,
    Balancer,
    BreakerConfig,
    Bulkhead,
    BulkheadFull,
    CircuitBreaker,
    Deadline,
    DeadlineExceeded,
    MonotonicClock,
    OutlierConfig,
    OutlierDetector,
    Replica,
    RetryPolicy,
)

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class Harness:
    """A DependencyClient over MockTransport, recording calls and backoff sleeps."""

    def __init__(
        self,
        handler: Handler,
        replicas: int = 3,
        attempts: int = 3,
        attempt_timeout: float = 0.5,
        bulkhead: int = 8,
    ) -> None:
        self.calls: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self.clock = MonotonicClock()
        self.registry = CollectorRegistry()
        self.metrics = DependencyMetrics(self.registry, "gateway")

        async def recording(request: httpx.Request) -> httpx.Response:
            self.calls.append(request)
            return await handler(request)

        async def no_sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        self.replicas = [
            Replica(
                f"orders-{i}",
                f"http://orders-{i}:8000",
                CircuitBreaker(BreakerConfig(consecutive_failures=5), self.clock),
                OutlierDetector(OutlierConfig(consecutive_failures=3), self.clock),
            )
            for i in range(1, replicas + 1)
        ]
        self.client = DependencyClient(
            "orders",
            Balancer(self.replicas, random.Random(0)),
            Bulkhead("orders", bulkhead, max_wait=0.0),
            httpx.AsyncClient(transport=httpx.MockTransport(recording)),
            attempt_timeout=attempt_timeout,
            retry=RetryPolicy(attempts, Backoff(0.01, 0.1)),
            metrics=self.metrics,
            clock=self.clock,
            uniform=lambda low, high: high,
            sleep=no_sleep,
        )

    def deadline(self, budget: float = 2.0) -> Deadline:
        return Deadline.start(self.clock, budget)

    def hosts(self) -> list[str]:
        return [r.url.host for r in self.calls]

    def sample(self, name: str, **labels: str) -> float:
        """Sum of the samples called `name` whose labels include `labels`."""
        want = {"service": "gateway", **labels}.items()
        return sum(
            s.value
            for family in self.registry.collect()
            for s in family.samples
            if s.name == name and want <= s.labels.items()
        )

    async def get(self, budget: float = 2.0, idempotent: bool = True) -> httpx.Response:
        return await self.client.request(
            "GET", "/orders/x", self.deadline(budget), idempotent=idempotent
        )


def answer(*statuses: int) -> Handler:
    """Answers with these statuses in turn (the last one repeats)."""
    queue = list(statuses)

    async def handler(request: httpx.Request) -> httpx.Response:
        status = queue.pop(0) if len(queue) > 1 else queue[0]
        return httpx.Response(status, json={"status": status})

    return handler


async def hang(request: httpx.Request) -> httpx.Response:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_a_failed_attempt_is_retried_on_another_replica():
    h = Harness(answer(503, 200))
    response = await h.get()
    assert response.status_code == 200
    assert len(h.calls) == 2 and h.hosts()[0] != h.hosts()[1]
    assert h.sleeps == [pytest.approx(0.01)]  # full jitter's upper bound for attempt 0
    assert h.sample("dependency_retries_total", dependency="orders") == 1


async def test_remaining_budget_is_sent_downstream_capped_per_attempt():
    h = Harness(answer(200), attempt_timeout=0.3)
    await h.get(budget=2.0)
    assert 250 <= int(h.calls[0].headers[DEADLINE_HEADER]) <= 300
    await h.get(budget=0.1)
    assert 50 <= int(h.calls[1].headers[DEADLINE_HEADER]) <= 100


@pytest.mark.parametrize("status", [400, 404, 409, 422])
async def test_client_errors_are_answers_not_failures(status):
    h = Harness(answer(status))
    assert (await h.get()).status_code == status
    assert len(h.calls) == 1
    assert h.sample("dependency_request_duration_seconds_count", outcome="success") == 1


async def test_non_idempotent_calls_are_not_retried():
    h = Harness(answer(503))
    with pytest.raises(DependencyError) as err:
        await h.get(idempotent=False)
    assert err.value.kind == "unavailable"
    assert len(h.calls) == 1


@pytest.mark.parametrize(
    ("status", "kind"), [(503, "unavailable"), (500, "bad_response"), (504, "timeout")]
)
async def test_giving_up_reports_the_last_failure(status, kind):
    h = Harness(answer(status))
    with pytest.raises(DependencyError) as err:
        await h.get()
    assert err.value.kind == kind
    assert len(h.calls) == 3
    assert len(set(h.hosts())) == 3  # each retry on a different replica
    assert h.sample("dependency_request_duration_seconds_count", outcome="error") == 3


async def test_refused_connections_mean_unavailable():
    async def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    h = Harness(refuse)
    with pytest.raises(DependencyError) as err:
        await h.get()
    assert err.value.kind == "unavailable"


async def test_a_hanging_replica_times_out_and_the_retry_succeeds():
    async def first_hangs(request: httpx.Request) -> httpx.Response:
        if len(h.calls) == 1:
            return await hang(request)
        return httpx.Response(200, json={})

    h = Harness(first_hangs, attempt_timeout=0.05)
    assert (await h.get()).status_code == 200
    assert h.sample("dependency_request_duration_seconds_count", outcome="timeout") == 1


async def test_nothing_outlives_the_deadline():
    h = Harness(hang, attempt_timeout=0.05)
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises((DeadlineExceeded, DependencyError)):
        await h.get(budget=0.12)
    assert loop.time() - start < 0.5


async def test_no_eligible_replica_fails_fast_without_calling():
    h = Harness(answer(200))
    for replica in h.replicas:
        replica.ready = False
    with pytest.raises(DependencyError) as err:
        await h.get()
    assert err.value.kind == "unavailable" and h.calls == []


async def test_consecutive_failures_eject_a_replica_and_count_it():
    h = Harness(answer(500), replicas=1, attempts=1)
    for _ in range(3):
        with pytest.raises(DependencyError):
            await h.get()
    assert not h.replicas[0].in_rotation()
    assert h.sample("outlier_ejections_total", dependency="orders", upstream="orders-1") == 1
    with pytest.raises(DependencyError, match="no healthy replica"):
        await h.get()


async def test_a_full_bulkhead_rejects_and_is_counted():
    h = Harness(answer(200), bulkhead=1)
    async with h.client.bulkhead.slot():
        with pytest.raises(BulkheadFull):
            await h.get()
    assert (
        h.sample("dependency_request_duration_seconds_count", upstream="none", outcome="rejected")
        == 1
    )


PRODUCTS = {"products": [{"id": 1, "name": "tea"}, {"id": 2, "name": "mug"}]}


def catalog_handler(state: dict[str, bool]) -> Handler:
    async def handler(request: httpx.Request) -> httpx.Response:
        if not state["up"]:
            return httpx.Response(503, json={"error": {}})
        if request.url.path == "/products":
            return httpx.Response(200, json=PRODUCTS)
        pid = int(request.url.path.rsplit("/", 1)[1])
        found = [p for p in PRODUCTS["products"] if p["id"] == pid]
        return httpx.Response(200, json=found[0]) if found else httpx.Response(404, json={})

    return handler


async def test_catalog_degrades_to_the_last_good_answers():
    state = {"up": True}
    h = Harness(catalog_handler(state), attempts=1)
    view = CatalogView(h.client, h.metrics)
    assert await view.products(h.deadline()) == (PRODUCTS["products"], False)
    state["up"] = False
    assert await view.products(h.deadline()) == (PRODUCTS["products"], True)
    assert await view.product(2, h.deadline()) == ({"id": 2, "name": "mug"}, True)
    assert await view.product(99, h.deadline()) == (None, True)  # unknown per the last list
    assert h.sample("degraded_responses_total", dependency="catalog") == 3
    state["up"] = True
    assert await view.product(99, h.deadline()) == (None, False)


async def test_catalog_without_a_last_good_answer_fails():
    h = Harness(catalog_handler({"up": False}), attempts=1)
    view = CatalogView(h.client, h.metrics)
    with pytest.raises(DependencyError):
        await view.products(h.deadline())
    with pytest.raises(DependencyError):
        await view.product(1, h.deadline())
