"""Open-loop load at a fixed arrival rate, with client-side latency and errors.

Request i is *scheduled* at start + i/rate whatever happened to earlier ones (no
closed-loop users, so no coordinated omission), and its latency is measured from
that scheduled time: if the generator or the system falls behind, the queueing shows
in the numbers instead of silently lowering the rate. POSTs carry a fresh
Idempotency-Key, kept with the result, so a run can be checked against the database.
Every request starts its own W3C trace (`traceparent` with a fresh trace id and span
id, sampled), kept with the result, so a slow or failed request can be looked up in
the trace backend. Several targets (a service's replicas' edge proxies) take the
requests in turn, and each result names the one it went through.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import statistics
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx

__all__ = [
    "LoadResult",
    "Record",
    "Route",
    "Target",
    "monotonic_offset",
    "new_traceparent",
    "run_load",
]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # may hold `{name}` placeholders filled from `choices`, `{uuid}` and `{seq}`
    weight: float = 1.0
    json: Any = None  # a JSON body; its strings may hold placeholders, at any depth
    choices: dict[str, Sequence[Any]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # values may hold placeholders
    # `{seq}`: share one counter between a run's routes (routes_of does) for one sequence
    seq: Iterator[int] = field(default_factory=lambda: itertools.count(1), compare=False)

    def render(self, rng: random.Random) -> tuple[str, Any, httpx.Headers]:
        """One request's path, JSON body and headers, from one pick of each choice.

        A string that is exactly "{name}" becomes the picked value itself (an int stays an
        int in the body); `{name}` within a longer string becomes its text. `{uuid}` is a
        fresh UUID4 and `{seq}` the next number of the counter, the same wherever they
        stand in one request. A POST carries a fresh Idempotency-Key unless the route
        sets its own.
        """
        picked = {k: rng.choice(list(v)) for k, v in self.choices.items()}
        picked.update(uuid=str(uuid.uuid4()), seq=next(self.seq))
        headers = httpx.Headers({k: str(_fill(v, picked)) for k, v in self.headers.items()})
        if self.method.upper() == "POST" and "Idempotency-Key" not in headers:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        return self.path.format(**picked), _fill(self.json, picked), headers


def _fill(value: Any, picked: dict[str, Any]) -> Any:
    """`value` with every placeholder in its strings filled (see `Route.render`)."""
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in picked:
            return picked[value[1:-1]]
        return value.format(**picked) if "{" in value or "}" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, picked) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_fill(v, picked) for v in value]
    return value


@dataclass(frozen=True)
class Record:
    route: str  # "METHOD path-template": bounded, for grouping
    scheduled: float  # monotonic time the request was due
    latency: float  # seconds from `scheduled` to the end of the response (or failure)
    status: int  # 0 when no response arrived (timeout, refused, reset)
    error: str | None = None
    idempotency_key: str | None = None
    body: dict[str, Any] | None = None  # the JSON object a write (not GET/HEAD) got with a 2xx
    trace_id: str | None = None  # 32 hex digits: the W3C trace the request started
    target: str = ""  # the replica whose edge proxy the request went through ("": a plain URL)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    @property
    def method(self) -> str:
        return self.route.split(" ", 1)[0]

    @property
    def path(self) -> str:
        """The path template, as in the route (`/items/{id}`, not the filled path)."""
        return self.route.split(" ", 1)[1]


@dataclass(frozen=True)
class Target:
    """Where a share of the load goes: a base URL, and the replica whose edge proxy it is."""

    url: str
    name: str = ""  # the replica; "" for a URL that is no replica's edge


def monotonic_offset() -> float:
    """What to add to a `time.monotonic()` reading (a record's `scheduled`) for wall clock."""
    return time.time() - time.monotonic()


@dataclass
class LoadResult:
    records: list[Record]
    started: float  # wall clock
    duration: float
    dropped: int = 0  # due requests not sent because `max_in_flight` were outstanding
    offset: float = 0.0  # monotonic -> wall clock for `records` (monotonic_offset at start)
    targets: tuple[str, ...] = ("",)  # each target's name, in the order requests went round
    dropped_at: tuple[int, ...] = (0,)  # `dropped`, per target (same order)

    def quantile(self, q: float) -> float | None:
        return _quantile(sorted(r.latency for r in self.records), q)

    def summary(self) -> dict[str, Any]:
        total = len(self.records) + self.dropped
        errors = sum(1 for r in self.records if not r.ok) + self.dropped
        return {
            "requests": total,
            "errors": errors,
            "error_ratio": errors / total if total else None,
            "p50_ms": _ms(self.quantile(0.50)),
            "p99_ms": _ms(self.quantile(0.99)),
            "mean_ms": _ms(
                statistics.fmean(r.latency for r in self.records) if self.records else None
            ),
            "achieved_rps": len(self.records) / self.duration if self.duration else None,
        }

    def by_target(self) -> list[dict[str, Any]]:
        """Requests, errors (dropped ones count as both) and p99 through each target, in
        order: a target that got no answer at all is listed with its zeros."""
        mine: dict[str, list[Record]] = {name: [] for name in self.targets}
        for r in self.records:
            mine.setdefault(r.target, []).append(r)
        drops = dict(zip(self.targets, self.dropped_at, strict=False))
        out = []
        for name, records in mine.items():
            total = len(records) + drops.get(name, 0)
            errors = sum(1 for r in records if not r.ok) + drops.get(name, 0)
            p99 = _quantile(sorted(r.latency for r in records), 0.99)
            out.append(
                {
                    "target": name,
                    "requests": total,
                    "errors": errors,
                    "error_ratio": errors / total if total else None,
                    "p99_ms": _ms(p99),
                }
            )
        return out


def _quantile(ordered: list[float], q: float) -> float | None:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


async def run_load(
    target: str | Sequence[Target],
    rate: float,
    duration: float,
    routes: Sequence[Route],
    *,
    timeout: float = 5.0,
    max_in_flight: int = 2000,
    stop: threading.Event | None = None,
    seed: int | None = None,
    headers: dict[str, str] | None = None,
    sink: list[Record] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LoadResult:
    """Send `rate` requests per second for `duration` seconds (or until `stop` is set).

    `target` is one base URL, or several targets that take the requests in turn (request
    i goes to target i mod N: each gets rate/N, the same ones on every run). `headers`
    go with every request, under each route's own; `transport` replaces the network
    (tests pass an `httpx.MockTransport`).
    """
    targets = [Target(target)] if isinstance(target, str) else list(target)
    assert targets, "a load needs a target"
    rng = random.Random(seed)
    weights = [r.weight for r in routes]
    # few idle connections kept: httpcore 1.0 scans every pooled connection on each request
    # start and end, so hundreds kept after a stall left the schedule seconds behind
    # (bench/README.md, "after a stall")
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=20)
    client = partial(
        httpx.AsyncClient, timeout=timeout, limits=limits, headers=headers, transport=transport
    )
    async with contextlib.AsyncExitStack() as clients_open:
        # one client (and connection pool) per target, on its base URL
        clients = [await clients_open.enter_async_context(client(base_url=t.url)) for t in targets]
        records: list[Record] = sink if sink is not None else []  # sink: read live by others
        pending: set[asyncio.Task[None]] = set()
        dropped = [0] * len(targets)
        offset, start = monotonic_offset(), time.monotonic()
        wall = start + offset
        for i in range(int(rate * duration)):
            due = start + i / rate
            if stop is not None and stop.is_set():
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            k = i % len(targets)
            if len(pending) >= max_in_flight:
                dropped[k] += 1
                continue
            route = rng.choices(routes, weights)[0]
            task = asyncio.create_task(_one(clients[k], targets[k].name, route, rng, due, records))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending)
        names = tuple(t.name for t in targets)
        elapsed = time.monotonic() - start
        return LoadResult(records, wall, elapsed, sum(dropped), offset, names, tuple(dropped))


def new_traceparent() -> tuple[str, str]:
    """(traceparent, trace id): a fresh W3C trace, its root span ours, sampled (`-01`)."""
    trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
    return f"00-{trace_id}-{span_id}-01", trace_id


def _trace_id(traceparent: str) -> str | None:
    parts = traceparent.strip().split("-")
    return parts[1].lower() if len(parts) >= 4 and len(parts[1]) == 32 else None


async def _one(
    client: httpx.AsyncClient,
    target: str,
    route: Route,
    rng: random.Random,
    due: float,
    out: list[Record],
) -> None:
    path, body, hdrs = route.render(rng)  # a POST's headers carry an Idempotency-Key
    key = hdrs.get("Idempotency-Key")
    if "traceparent" not in hdrs:  # a route may set its own; else a fresh trace per request
        hdrs["traceparent"] = new_traceparent()[0]
    trace = _trace_id(hdrs["traceparent"])
    name = f"{route.method.upper()} {route.path}"
    try:
        resp = await client.request(route.method, path, json=body, headers=hdrs)
    except httpx.HTTPError as exc:
        error = type(exc).__name__
        latency = time.monotonic() - due
        out.append(Record(name, due, latency, 0, error, key, trace_id=trace, target=target))
        return
    parsed = None  # kept for acknowledged writes only: what checks read back afterwards
    is_json = resp.headers.get("content-type", "").startswith("application/json")
    if resp.is_success and is_json and route.method.upper() not in ("GET", "HEAD"):
        try:
            parsed = resp.json()
        except ValueError:
            parsed = None
        parsed = parsed if isinstance(parsed, dict) else None
    latency = time.monotonic() - due
    out.append(Record(name, due, latency, resp.status_code, None, key, parsed, trace, target))
