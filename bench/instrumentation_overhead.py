"""Instrumentation overhead: the same gateway → catalog path with instrumentation on vs off.

Starts its own catalog and gateway processes (no Toxiproxy, no other load) with
SAMPLE_APP_INSTRUMENTATION=1 or 0 — on: OpenTelemetry server and client spans, the
request metrics with exemplars, a JSON access log line per request; off: none of
them. For each mode, alternating over rounds: p50/p99 of GET /products at a fixed
arrival rate (open loop), and the throughput ceiling with wrk. Reports medians and
on/off ratios. On a machine with 2+ cores the shop is pinned to core 0 and the load
generators to core 1 (taskset), so they do not steal each other's CPU; stop other
busy processes (e.g. `harness down`) for steadier figures.

    .venv/bin/python -m bench.instrumentation_overhead [--rate 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.common import fixed_rate, median, save, wrk_ceiling

HOST, CATALOG_PORT, GATEWAY_PORT = "127.0.0.1", 27201, 27101
PINNED = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
PIN_SHOP = ["taskset", "-c", "0"] if PINNED else []


@contextmanager
def shop(instrumentation: int, logs: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "SAMPLE_APP_INSTRUMENTATION": str(instrumentation),
        "OTEL_SERVICE_NAME": "bench",
    }
    procs = []
    try:
        for argv in (
            ["--service", "catalog", "--replica", "catalog-1", "--port", str(CATALOG_PORT)],
            [
                "--service",
                "gateway",
                "--replica",
                "gateway-1",
                "--port",
                str(GATEWAY_PORT),
                "--upstream",
                f"catalog-1=http://{HOST}:{CATALOG_PORT}",
                # required by the gateway; nothing listens there and /products never calls it
                "--upstream",
                f"orders-1=http://{HOST}:{CATALOG_PORT + 1}",
            ],
        ):
            log = (logs / f"{argv[3]}-{instrumentation}.log").open("ab")
            cmd = [sys.executable, "-m", "sample_app", "--host", HOST, *argv]
            procs.append(
                subprocess.Popen(PIN_SHOP + cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
        url = f"http://{HOST}:{GATEWAY_PORT}"
        _await(f"{url}/health/ready")
        _await(f"{url}/products")
        yield url
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def _await(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if PINNED:
        os.sched_setaffinity(0, {1})  # this process and wrk (its child) on core 1
    runs: dict[str, list[dict]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for mode, flag in (("on", 1), ("off", 0)):
                with shop(flag, Path(tmp)) as url:
                    fixed_rate(url, "/products", args.rate, 2)  # warm-up
                    lat = fixed_rate(url, "/products", args.rate, args.seconds)
                    lat["wrk_rps"] = wrk_ceiling(f"{url}/products")
                    runs[mode].append(lat)
                    print(
                        f"{mode}: p50 {lat['p50_ms']} ms p99 {lat['p99_ms']} ms "
                        f"ceiling {lat['wrk_rps']} req/s",
                        flush=True,
                    )
    med = {
        m: {k: median([r[k] for r in v]) for k in ("p50_ms", "p99_ms", "wrk_rps")}
        for m, v in runs.items()
    }
    result = {
        "rate": args.rate,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "pinned": PINNED,
        "median": med,
        "p50_added_ms": med["on"]["p50_ms"] - med["off"]["p50_ms"],
        "p50_ratio": med["on"]["p50_ms"] / med["off"]["p50_ms"],
        "p99_ratio": med["on"]["p99_ms"] / med["off"]["p99_ms"],
        "throughput_ratio": (
            med["on"]["wrk_rps"] / med["off"]["wrk_rps"]
            if med["on"]["wrk_rps"] and med["off"]["wrk_rps"]
            else None
        ),
        "runs": runs,
    }
    print(
        f"p50 on/off {result['p50_ratio']:.3f} (+{result['p50_added_ms']:.2f} ms), "
        f"p99 on/off {result['p99_ratio']:.3f}, ceiling on/off {result['throughput_ratio']}"
    )
    print(f"saved {save('instrumentation_overhead', result)}")


if __name__ == "__main__":
    main()
