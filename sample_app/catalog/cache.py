"""Cache-aside reads through Redis: bounded in time, and never the reason a read fails.

A read asks the cache first (one GET, cut off after `timeout`); on a hit it is served
from there; on a miss it is loaded from the source and written back with a TTL; on any
cache error or timeout it is loaded from the source. A circuit breaker skips the cache
while it keeps failing, so a blackholed cache costs the timeout on a few requests per
cool-down, not on every one. Every lookup is counted in `cache_requests_total` by
result (hit, miss, error: failed, timed out, or skipped while the breaker is open), so
the hit ratio is `hit / (hit + miss + error)`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from sample_app.observability.metrics import GaugeCollector
from sample_app.resilience.breaker import BreakerState, CircuitBreaker
from sample_app.resilience.clock import Clock

__all__ = [
    "CACHE_BUCKETS",
    "CacheMetrics",
    "ReadThroughCache",
    "breaker_gauge",
    "log_breaker_change",
    "redis_client",
]

log = logging.getLogger(__name__)

# a healthy cache answers in well under a millisecond; the timeout is tens of them
CACHE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5)
RESULTS = ("hit", "miss", "error")
_FAILURES = (RedisError, OSError, TimeoutError, ValueError)


class _Outcome:
    """A lookup that returned no value: a miss (write back) or an error (do not)."""

    def __init__(self, result: str) -> None:
        self.result = result


_MISS, _ERROR = _Outcome("miss"), _Outcome("error")


class CacheMetrics:
    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.service = service
        self.requests = Counter(
            "cache_requests",
            "Cache lookups by result: hit, miss, or error (failed, timed out, or skipped "
            "while the cache's breaker is open).",
            ["service", "result"],
            registry=registry,
        )
        self.duration = Histogram(
            "cache_request_duration_seconds",
            "Duration of one call to the cache, by operation and outcome.",
            ["service", "operation", "outcome"],
            buckets=CACHE_BUCKETS,
            registry=registry,
        )
        for result in RESULTS:  # zero-valued series: the ratio exists from the first scrape
            self.requests.labels(service, result)

    def count(self, result: str) -> None:
        self.requests.labels(self.service, result).inc()

    def observe(self, operation: str, outcome: str, seconds: float) -> None:
        self.duration.labels(self.service, operation, outcome).observe(seconds)


def redis_client(url: str, timeout: float) -> Redis:
    """A client whose every connect and read is cut off after `timeout`, never retried."""
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=0,
    )


class ReadThroughCache:
    """Cache-aside reads of JSON values through one Redis client."""

    def __init__(
        self,
        client: Redis,
        breaker: CircuitBreaker,
        metrics: CacheMetrics,
        clock: Clock,
        ttl: float,
        timeout: float,
    ) -> None:
        self.client, self.breaker, self.metrics = client, breaker, metrics
        self.clock, self.ttl_ms, self.timeout = clock, max(1, int(ttl * 1000)), timeout

    async def get_or_load(self, key: str, load: Callable[[], Any]) -> Any:
        """The cached value of `key`, or `load()` (written back on a miss)."""
        found = await self._get(key)
        if not isinstance(found, _Outcome):
            self.metrics.count("hit")
            return found
        self.metrics.count(found.result)
        value = load()
        if found is _MISS:
            await self._set(key, value)
        return value

    async def _get(self, key: str) -> Any:
        raw = await self._call("get", lambda: self.client.get(key))
        if isinstance(raw, _Outcome):
            return raw
        if raw is None:
            return _MISS
        try:
            return json.loads(raw)
        except ValueError:  # not ours: overwrite it
            return _MISS

    async def _set(self, key: str, value: Any) -> None:
        data = json.dumps(value, separators=(",", ":"))
        await self._call("set", lambda: self.client.set(key, data, px=self.ttl_ms))

    async def _call(self, operation: str, call: Callable[[], Any]) -> Any:
        """One cache call under the breaker and the timeout; `_ERROR` when it failed."""
        if not self.breaker.acquire():
            return _ERROR
        started = self.clock.now()
        try:
            result = await asyncio.wait_for(call(), self.timeout)
        except asyncio.CancelledError:
            self.breaker.abandon()
            raise
        except _FAILURES as exc:
            self.breaker.record_failure()
            self.metrics.observe(operation, "error", self.clock.now() - started)
            log.debug("cache %s failed: %s", operation, type(exc).__name__)
            return _ERROR
        self.breaker.record_success()
        self.metrics.observe(operation, "ok", self.clock.now() - started)
        return result


def breaker_gauge(service: str, breaker: CircuitBreaker) -> GaugeCollector:
    return GaugeCollector(
        "cache_breaker_state",
        "The cache's breaker: 0 closed, 1 half-open, 2 open (the cache is skipped).",
        ["service"],
        lambda: [((service,), float(int(breaker.state)))],
    )


def log_breaker_change(old: BreakerState, new: BreakerState) -> None:
    level = logging.INFO if new is BreakerState.CLOSED else logging.WARNING
    log.log(level, "cache breaker %s -> %s", old.name.lower(), new.name.lower())
