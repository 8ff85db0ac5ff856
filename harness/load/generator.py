"""Open-loop load at a fixed arrival rate, with client-side latency and errors.

Request i is *scheduled* at start + i/rate whatever happened to earlier ones (no
closed-loop users, so no coordinated omission), and its latency is measured from
that scheduled time: if the generator or the system falls behind, the queueing shows
in the numbers instead of silently lowering the rate. POSTs carry a fresh
Idempotency-Key, kept with the result, so a run can be checked against the database.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["LoadResult", "Record", "Route", "run_load"]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # may hold `{name}` placeholders filled from `choices`
    weight: float = 1.0
    json: dict[str, Any] | None = None
    choices: dict[str, Sequence[Any]] = field(default_factory=dict)

    def render(self, rng: random.Random) -> tuple[str, dict[str, Any] | None]:
        picked = {k: rng.choice(list(v)) for k, v in self.choices.items()}
        body = {k: picked.get(k, v) if v == f"{{{k}}}" else v for k, v in (self.json or {}).items()}
        return self.path.format(**picked), body if self.json is not None else None


@dataclass(frozen=True)
class Record:
    route: str  # "METHOD path-template": bounded, for grouping
    scheduled: float  # monotonic time the request was due
    latency: float  # seconds from `scheduled` to the end of the response (or failure)
    status: int  # 0 when no response arrived (timeout, refused, reset)
    error: str | None = None
    idempotency_key: str | None = None
    body: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


@dataclass
class LoadResult:
    records: list[Record]
    started: float  # wall clock
    duration: float
    dropped: int = 0  # due requests not sent because `max_in_flight` were outstanding

    def quantile(self, q: float) -> float | None:
        lat = sorted(r.latency for r in self.records)
        if not lat:
            return None
        return lat[min(len(lat) - 1, int(q * len(lat)))]

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


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


async def run_load(
    base_url: str,
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
) -> LoadResult:
    """Send `rate` requests per second for `duration` seconds (or until `stop` is set)."""
    rng = random.Random(seed)
    weights = [r.weight for r in routes]
    # few idle connections kept: httpcore 1.0 scans every pooled connection on each request
    # start and end, so hundreds kept after a stall left the schedule seconds behind
    # (bench/README.md, "after a stall")
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=20)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=timeout, limits=limits, headers=headers
    ) as client:
        records: list[Record] = sink if sink is not None else []  # sink: read live by others
        pending: set[asyncio.Task[None]] = set()
        dropped = 0
        wall, start = time.time(), time.monotonic()
        for i in range(int(rate * duration)):
            due = start + i / rate
            if stop is not None and stop.is_set():
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if len(pending) >= max_in_flight:
                dropped += 1
                continue
            route = rng.choices(routes, weights)[0]
            task = asyncio.create_task(_one(client, route, rng, due, records))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending)
        return LoadResult(records, wall, time.monotonic() - start, dropped)


async def _one(
    client: httpx.AsyncClient, route: Route, rng: random.Random, due: float, out: list[Record]
) -> None:
    path, body = route.render(rng)
    key = str(uuid.uuid4()) if route.method.upper() == "POST" else None
    hdrs = {"Idempotency-Key": key} if key else None
    name = f"{route.method.upper()} {route.path}"
    try:
        resp = await client.request(route.method, path, json=body, headers=hdrs)
    except httpx.HTTPError as exc:
        out.append(Record(name, due, time.monotonic() - due, 0, type(exc).__name__, key))
        return
    parsed = None
    if key is not None and resp.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = resp.json()
        except ValueError:
            parsed = None
    out.append(Record(name, due, time.monotonic() - due, resp.status_code, None, key, parsed))
