"""The load generator itself: achieved vs configured rate, and how late each request
leaves against its schedule; then a stalled target, to show the loop stays open.

`harness.load.run_load` runs in this process, pinned to core 0; a trivial HTTP/1.1
target (`bench.http_target`, answers 200 at once) runs pinned to core 1. `Record`
carries each request's schedule but not its send time, so an httpx request event
hook (installed by patching `httpx.AsyncClient` in this process only) notes
`time.monotonic()` as each request is handed to the transport, keyed by the
Idempotency-Key that run_load gives every POST and keeps in its Record.

- lag: send time − scheduled time, per request (p50/p99/max over a round)
- achieved rate: requests sent / (last send − first send), × (n−1)/n
- stall run (20 s): the target holds every request arriving in [5 s, 6 s); an open
  loop keeps sending (≈ rate × 1 s requests inside the window) and their latencies,
  measured from the schedule, carry the stall (uniform from ≈ 1 s down to 0)

`--keepalive N` is a diagnostic: it makes run_load's httpx pool keep at most N idle
connections (run_load asks for 200), to show what that one setting does after a stall.

    .venv/bin/python -m bench.load_generator [--rates 100 500] [--rounds 3] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import httpx

from bench.common import median, save
from harness.load.generator import LoadResult, Route, run_load

GEN_CPU, TARGET_CPU = 0, 1
ROUTE = Route("POST", "/", json={"n": 1})  # POST: run_load keys each request (pairing)


@contextmanager
def target() -> Iterator[str]:
    """Start the trivial target on a free port, pinned to TARGET_CPU; yield its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.http_target", "--cpu", str(TARGET_CPU)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def send_times() -> Iterator[dict[str, float]]:
    """While open, every httpx.AsyncClient notes when each keyed request is sent."""
    sends: dict[str, float] = {}

    async def hook(request: httpx.Request) -> None:
        key = request.headers.get("idempotency-key")
        if key is not None:
            sends[key] = time.monotonic()

    base = httpx.AsyncClient

    class TimedClient(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, event_hooks={"request": [hook]}, **kwargs)

    with mock.patch.object(httpx, "AsyncClient", TimedClient):
        yield sends


@contextmanager
def keepalive(limit: int | None) -> Iterator[None]:
    """Diagnostic: cap the idle connections run_load's pool keeps (it asks for 200)."""
    if limit is None:
        yield
        return
    base = httpx.Limits

    class Capped(base):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "max_keepalive_connections": limit})

    with mock.patch.object(httpx, "Limits", Capped):
        yield


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def schedule_lags(result: LoadResult, sends: dict[str, float]) -> list[tuple[float, float]]:
    """(scheduled, send − scheduled) of every request whose send was seen, in schedule order."""
    pairs = [
        (r.scheduled, sends[r.idempotency_key] - r.scheduled)
        for r in result.records
        if r.idempotency_key in sends
    ]
    return sorted(pairs)


def analyse(result: LoadResult, sends: dict[str, float], rate: float) -> dict[str, Any]:
    """Rate and schedule lag of one round."""
    lags = [lag for _, lag in schedule_lags(result, sends)]
    times = sorted(sends.values())
    achieved = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    latencies = [r.latency for r in result.records]
    return {
        "rate": rate,
        "sent": len(times),
        "errors": sum(1 for r in result.records if not r.ok) + result.dropped,
        "achieved_rps": round(achieved, 2),
        "achieved_ratio": round(achieved / rate, 4),
        "lag_p50_ms": _ms(quantile(lags, 0.50)),
        "lag_p99_ms": _ms(quantile(lags, 0.99)),
        "lag_max_ms": _ms(max(lags)),
        "latency_p50_ms": _ms(quantile(latencies, 0.50)),
        "latency_p99_ms": _ms(quantile(latencies, 0.99)),
        "latency_max_ms": _ms(max(latencies)),
    }


def one_round(url: str, rate: float, seconds: float) -> dict[str, Any]:
    with send_times() as sends:
        result = asyncio.run(run_load(url, rate, seconds, [ROUTE], timeout=10, seed=1))
    return analyse(result, sends, rate)


def stall_round(url: str, rate: float, seconds: float, at: float, stall: float) -> dict[str, Any]:
    """One round with the target stalled for `stall` s from `at` s into the run."""
    start = time.monotonic()
    httpx.get(f"{url}/stall", params={"at": start + at, "for": stall}).raise_for_status()
    with send_times() as sends:
        result = asyncio.run(run_load(url, rate, seconds, [ROUTE], timeout=10, seed=1))
    t0 = min(r.scheduled for r in result.records)
    lo, hi = start + at, start + at + stall
    inside = [r for r in result.records if lo <= r.scheduled < hi]
    held = sorted(r.latency for r in inside)
    lags = schedule_lags(result, sends)
    after = [lag for due, lag in lags if due >= hi]
    by_second = _p99_by_second([(due - hi, lag) for due, lag in lags if due >= hi])
    return {
        **analyse(result, sends, rate),
        "stall_window_s": [round(lo - t0, 3), round(hi - t0, 3)],
        "sent_during_stall": sum(1 for s in sends.values() if lo <= s < hi),
        "expected_during_stall": round(rate * stall),
        "scheduled_during_stall": len(inside),
        "stalled_latency_max_ms": _ms(held[-1]) if held else None,
        "stalled_latency_p50_ms": _ms(statistics.median(held)) if held else None,
        "over_half_stall": sum(1 for v in held if v >= stall / 2),
        "lag_max_after_stall_ms": _ms(max(after)) if after else None,
        "lag_p99_by_second_after_stall_ms": by_second,
        "back_on_schedule_after_s": next((k for k, v in enumerate(by_second) if v < 10), None),
    }


def _p99_by_second(lags: list[tuple[float, float]]) -> list[float]:
    """p99 lag (ms) of each whole second from 0, given (seconds since t, lag) pairs."""
    seconds: dict[int, list[float]] = {}
    for since, lag in lags:
        seconds.setdefault(int(since), []).append(lag)
    return [_ms(quantile(seconds[k], 0.99)) for k in sorted(seconds)]


def summarise(rounds: list[dict[str, Any]], rate: float) -> dict[str, Any]:
    mine = [r for r in rounds if r["rate"] == rate]
    keys = [k for k in mine[0] if k not in ("rate", "sent", "errors")]
    out: dict[str, Any] = {k: median([r[k] for r in mine]) for k in keys}
    out["errors"] = sum(r["errors"] for r in mine)
    out["lag_p99_worst_round_ms"] = max(r["lag_p99_ms"] for r in mine)
    out["bar_met"] = abs(out["achieved_ratio"] - 1) <= 0.02 and out["lag_p99_ms"] < 10
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", type=float, nargs="+", default=[100.0, 500.0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--stall", type=float, default=1.0, help="target stall (s); 0: skip")
    ap.add_argument("--keepalive", type=int, default=None, help="diagnostic: idle-pool cap")
    args = ap.parse_args()
    os.sched_setaffinity(0, {GEN_CPU})
    rounds, stalls = [], []
    with target() as url, keepalive(args.keepalive):
        for n in range(args.rounds):
            for rate in args.rates:
                rounds.append(one_round(url, rate, args.seconds))
                print(f"round {n + 1} @ {rate:g}/s: {rounds[-1]}", flush=True)
        for rate in args.rates if args.stall else []:
            stalls.append(stall_round(url, rate, 20.0, 5.0, args.stall))
            print(f"stall @ {rate:g}/s: {stalls[-1]}", flush=True)
    summary = {f"{rate:g}": summarise(rounds, rate) for rate in args.rates} if rounds else {}
    for rate, s in summary.items():
        print(
            f"{rate:>5} req/s: achieved {s['achieved_rps']:.1f} ({s['achieved_ratio']:.4f}), "
            f"lag p50 {s['lag_p50_ms']:.3f} p99 {s['lag_p99_ms']:.3f} max {s['lag_max_ms']:.3f} ms"
            f" (worst round p99 {s['lag_p99_worst_round_ms']:.3f} ms)"
            f"{'' if s['bar_met'] else '  (bar not met)'}"
        )
    name = "load_generator" + (f"_keepalive{args.keepalive}" if args.keepalive else "")
    data = {"args": vars(args), "load1": os.getloadavg()[0], "summary": summary}
    print(f"saved {save(name, {**data, 'rounds': rounds, 'stalls': stalls})}")


if __name__ == "__main__":
    main()
