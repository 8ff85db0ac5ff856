"""The catalog's cache against a real redis-server: hits, misses, TTL, and what happens when
the cache is down (refused) or blackholed (accepts, never answers): the read falls back to
the source within the timeout, and the breaker then skips the cache."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry

from sample_app.catalog.app import build_catalog_app
from sample_app.catalog.cache import CacheMetrics, ReadThroughCache, redis_client
from sample_app.config import Settings
from sample_app.resilience.breaker import BreakerConfig, BreakerState, CircuitBreaker
from sample_app.resilience.clock import FakeClock, MonotonicClock
from sample_app.web.app import ServiceContext

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]

TIMEOUT = 0.05


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    port, workdir = _free_port(), tmp_path_factory.mktemp("redis")
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(workdir)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not _pong(port):
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _pong(port: int) -> bool:
    from harness.runtime.local.redis import ping

    return ping("127.0.0.1", port, timeout=0.2)


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A blackhole: the connection is accepted, the bytes are never answered."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


def make_cache(url: str, clock=None, ttl: float = 30.0) -> tuple[ReadThroughCache, Counts]:
    clock = clock or MonotonicClock()
    registry = CollectorRegistry()
    breaker = CircuitBreaker(BreakerConfig(consecutive_failures=3, cooldown=2.0), clock)
    metrics = CacheMetrics(registry, "catalog")
    cache = ReadThroughCache(redis_client(url, TIMEOUT), breaker, metrics, clock, ttl, TIMEOUT)
    return cache, Counts(registry)


class Counts:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def __call__(self, result: str) -> float:
        labels = {"service": "catalog", "result": result}
        return self.registry.get_sample_value("cache_requests_total", labels) or 0.0


class Source:
    def __init__(self, value: object) -> None:
        self.value, self.loads = value, 0

    def __call__(self) -> object:
        self.loads += 1
        return self.value


async def test_a_miss_loads_and_writes_back_with_the_ttl_then_hits(redis_url):
    cache, counts = make_cache(redis_url, ttl=30.0)
    await cache.client.delete("k1")
    source = Source({"id": 1, "name": "tea"})
    assert await cache.get_or_load("k1", source) == {"id": 1, "name": "tea"}
    assert await cache.get_or_load("k1", source) == {"id": 1, "name": "tea"}
    assert source.loads == 1
    assert (counts("hit"), counts("miss"), counts("error")) == (1, 1, 0)
    assert 0 < await cache.client.pttl("k1") <= 30_000
    await cache.client.aclose()


async def test_every_result_series_exists_before_the_first_lookup(redis_url):
    _, counts = make_cache(redis_url)
    names = {s.labels["result"] for m in counts.registry.collect() for s in m.samples}
    assert {"hit", "miss", "error"} <= names


async def test_a_value_that_is_not_json_is_a_miss_and_overwritten(redis_url):
    cache, counts = make_cache(redis_url)
    await cache.client.set("k2", b"\xff not json")
    assert await cache.get_or_load("k2", Source([1, 2])) == [1, 2]
    assert counts("miss") == 1
    assert await cache.get_or_load("k2", Source("unused")) == [1, 2]
    await cache.client.aclose()


async def test_a_refused_cache_falls_back_to_the_source():
    cache, counts = make_cache(f"redis://127.0.0.1:{_free_port()}/0")
    source = Source({"ok": True})
    assert await cache.get_or_load("k", source) == {"ok": True}
    assert source.loads == 1 and counts("error") == 1


async def test_a_blackholed_cache_costs_the_timeout_then_is_skipped(silent_url):
    clock = FakeClock()
    cache, counts = make_cache(silent_url, clock=clock)
    source = Source("from source")
    for _ in range(3):  # three timeouts open the breaker
        started = time.monotonic()
        assert await cache.get_or_load("k", source) == "from source"
        assert time.monotonic() - started < TIMEOUT + 0.1
    assert cache.breaker.state is BreakerState.OPEN
    started = time.monotonic()
    for _ in range(50):  # skipped: no wait at all
        assert await cache.get_or_load("k", source) == "from source"
    assert time.monotonic() - started < 0.05
    assert counts("error") == 53 and counts("hit") == 0 and source.loads == 53
    clock.advance(2.0)  # after the cool-down, one trial call goes to the cache again
    assert cache.breaker.state is BreakerState.HALF_OPEN
    assert await cache.get_or_load("k", source) == "from source"
    assert cache.breaker.state is BreakerState.OPEN


async def test_the_breaker_closes_when_the_cache_answers_again(redis_url):
    clock = FakeClock()
    cache, counts = make_cache(redis_url, clock=clock)
    for _ in range(3):
        cache.breaker.record_failure()
    assert cache.breaker.state is BreakerState.OPEN
    clock.advance(2.0)
    await cache.get_or_load("k3", Source("v"))
    assert cache.breaker.state is BreakerState.CLOSED
    await cache.client.aclose()


async def test_the_catalog_answers_200_with_its_cache_blackholed(silent_url):
    ctx = ServiceContext("catalog", "catalog-1", Settings(cache_timeout_ms=50))
    app = build_catalog_app(ctx, silent_url)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in ["/products", "/products/3", "/products", "/products/4"] * 3:
            resp = await client.get(path)
            assert resp.status_code == 200, resp.text
        assert (await client.get("/products/999")).status_code == 404
    errors = ctx.registry.get_sample_value(
        "cache_requests_total", {"service": "catalog", "result": "error"}
    )
    assert errors == 13


async def test_the_catalog_serves_hits_from_its_cache(redis_url):
    ctx = ServiceContext("catalog", "catalog-1")
    app = build_catalog_app(ctx, redis_url)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        first, second = await client.get("/products/5"), await client.get("/products/5")
    assert first.json() == second.json() and first.json()["id"] == 5
    hits = ctx.registry.get_sample_value(
        "cache_requests_total", {"service": "catalog", "result": "hit"}
    )
    assert hits is not None and hits >= 1
