"""Calling one dependency the careful way: every attempt balanced, bounded and recorded.

Per call: bulkhead slot -> pick a replica (ready, not ejected, breaker permits) ->
one attempt with timeout min(cap, remaining) and the remaining budget sent along ->
on failure, retry an idempotent call after a full-jitter backoff on another replica,
never past the deadline. Each attempt feeds the replica's breaker and outlier
detector and the `dependency_request_duration_seconds` histogram.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from sample_app.observability.metrics import DependencyMetrics
from sample_app.resilience.balancer import Balancer, Replica
from sample_app.resilience.bulkhead import Bulkhead, BulkheadFull
from sample_app.resilience.clock import Clock
from sample_app.resilience.deadline import DEADLINE_HEADER, Deadline, DeadlineExceeded
from sample_app.resilience.retry import RetryPolicy, Uniform

__all__ = ["DependencyClient", "DependencyError", "FailureKind"]

log = logging.getLogger(__name__)

FailureKind = Literal["unavailable", "timeout", "bad_response"]
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
Sleep = Callable[[float], Awaitable[None]]


class DependencyError(Exception):
    """A dependency call failed for good: no replica, timeouts, or bad answers."""

    def __init__(self, dependency: str, kind: FailureKind, message: str) -> None:
        super().__init__(f"{dependency}: {message}")
        self.dependency = dependency
        self.kind = kind


@dataclass(frozen=True)
class _Failure:
    outcome: Literal["error", "timeout"]
    detail: str
    status: int | None = None

    def error(self, dependency: str) -> DependencyError:
        if self.outcome == "timeout" or self.status == 504:
            return DependencyError(dependency, "timeout", self.detail)
        if self.status == 503:
            return DependencyError(dependency, "unavailable", self.detail)
        return DependencyError(dependency, "bad_response", self.detail)


class DependencyClient:
    def __init__(
        self,
        name: str,
        balancer: Balancer,
        bulkhead: Bulkhead,
        http: httpx.AsyncClient,
        *,
        attempt_timeout: float,
        retry: RetryPolicy,
        metrics: DependencyMetrics,
        clock: Clock,
        uniform: Uniform,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.balancer = balancer
        self.bulkhead = bulkhead
        self._http = http
        self._attempt_timeout = attempt_timeout
        self._retry = retry
        self._metrics = metrics
        self._clock = clock
        self._uniform = uniform
        self._sleep = sleep

    async def request(
        self,
        method: str,
        path: str,
        deadline: Deadline,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> httpx.Response:
        """The first non-failure response (2xx-4xx); DependencyError when giving up."""
        tried: set[str] = set()
        failure: _Failure | None = None
        for attempt in range(self._retry.max_attempts):
            deadline.check()
            result = await self._guarded_attempt(method, path, deadline, json, headers, tried)
            if isinstance(result, httpx.Response):
                return result
            if result is None:  # no eligible replica (left)
                if failure is None:
                    raise DependencyError(self.name, "unavailable", "no healthy replica")
                break
            failure = result
            if not idempotent:
                break
            delay = self._retry.next_delay(attempt, deadline.remaining(), self._uniform)
            if delay is None:
                break
            self._metrics.retries.labels(self._metrics.service, self.name).inc()
            await self._sleep(delay)
        assert failure is not None
        if failure.outcome == "timeout" and deadline.expired():
            raise DeadlineExceeded(f"{self.name}: deadline exceeded ({failure.detail})")
        raise failure.error(self.name)

    async def _guarded_attempt(
        self,
        method: str,
        path: str,
        deadline: Deadline,
        json: Any,
        headers: Mapping[str, str] | None,
        tried: set[str],
    ) -> httpx.Response | _Failure | None:
        """One attempt inside a bulkhead slot, on a replica not tried yet if possible.

        None when no replica is eligible (all not ready, ejected or breaker-open).
        """
        start = self._clock.now()
        try:
            async with self.bulkhead.slot(wait=deadline.remaining()):
                replica = self.balancer.pick(exclude=tried)
                if replica is None:
                    return None
                tried.add(replica.name)
                return await self._attempt(replica, method, path, deadline, json, headers)
        except BulkheadFull:
            self._metrics.observe(self.name, "none", "rejected", self._clock.now() - start)
            raise

    async def _attempt(
        self,
        replica: Replica,
        method: str,
        path: str,
        deadline: Deadline,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response | _Failure:
        timeout = deadline.timeout(self._attempt_timeout)
        sent = {**(headers or {}), DEADLINE_HEADER: str(int(timeout * 1000))}
        replica.in_flight += 1
        start = self._clock.now()
        try:
            async with asyncio.timeout(timeout):
                response = await self._http.request(
                    method, replica.url + path, json=json, headers=sent, timeout=timeout
                )
            result: httpx.Response | _Failure = response
            if response.status_code in RETRYABLE_STATUS:
                result = _Failure("error", f"{replica.name} answered {response.status_code}",
                                  response.status_code)  # fmt: skip
        except (TimeoutError, httpx.TimeoutException):
            result = _Failure("timeout", f"{replica.name} did not answer within {timeout:.3f} s")
        except httpx.HTTPError as exc:
            refused = 503 if isinstance(exc, httpx.ConnectError) else None  # nothing listens
            detail = f"{replica.name}: {type(exc).__name__}: {exc}".rstrip(": ")
            result = _Failure("error", detail, refused)
        except asyncio.CancelledError:
            replica.breaker.abandon()
            raise
        finally:
            replica.in_flight -= 1
        outcome = "success" if isinstance(result, httpx.Response) else result.outcome
        self._metrics.observe(self.name, replica.name, outcome, self._clock.now() - start)
        # a timeout cut short by the caller's own small budget says nothing about the replica
        self._record(replica, result, blame=timeout >= self._attempt_timeout)
        return result

    def _record(self, replica: Replica, result: httpx.Response | _Failure, blame: bool) -> None:
        if isinstance(result, httpx.Response):
            replica.breaker.record_success()
            replica.outlier.record_success()
            return
        if result.outcome == "timeout" and not blame:
            replica.breaker.abandon()
            return
        log.info("call to %s failed: %s", self.name, result.detail)
        replica.breaker.record_failure()
        if replica.outlier.record_failure():
            self._metrics.ejections.labels(self._metrics.service, self.name, replica.name).inc()
            log.warning(
                "ejected %s for %.1f s after consecutive failures",
                replica.name,
                replica.outlier.ejection_period(),
            )
