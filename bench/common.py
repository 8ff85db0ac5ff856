"""Shared bench helpers: fixed-rate latency runs, a wrk ceiling, result files."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from harness.load.generator import Route, run_load

RESULTS = Path(__file__).resolve().parent / "results"


def fixed_rate(url: str, path: str, rate: float, seconds: float) -> dict[str, Any]:
    """p50/p99 (ms) of GET `path` at a fixed arrival rate (open loop)."""
    result = asyncio.run(run_load(url, rate, seconds, [Route("GET", path)], timeout=5))
    summary = result.summary()
    if summary["errors"]:
        raise RuntimeError(f"{summary['errors']} errors against {url}{path}")
    return summary


def wrk_ceiling(url: str, seconds: int = 8, connections: int = 16) -> float | None:
    """Requests/s at saturation with wrk (closed loop; a ceiling, not a latency figure)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    out = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(match.group(1)) if match else None


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    data = {"bench": name, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


_DB_DOWN = """
version: harness/v1
name: NAME
hypothesis: the guardrail aborts and the fault comes off
targets:
  db: {service: orders, percent: 100, hop: database}
faults:
  - {type: refused, target: db, duration: SECONDSs}
steady_state:
  - name: availability
    query: sum(rate(http_server_requests_total{service="gateway",code!~"5.."}[10s])) / sum(rate(http_server_requests_total{service="gateway"}[10s]))
    op: ">="
    threshold: 0.95
guardrails:
  - name: errors
    query: (sum(rate(http_server_requests_total{service="gateway",code=~"5.."}[5s])) or vector(0)) / sum(rate(http_server_requests_total{service="gateway"}[5s]))
    op: "<"
    threshold: 0.1
expectations:
  recovery_within: 30s
blast_radius:
  max_duration: 60s
  allow_total_outage: true
"""


def db_down_experiment(name: str, fault_seconds: int, extra: str = "") -> str:
    """The abort benchmarks' experiment: every orders replica's database link refused,
    guarded by the gateway's 5xx ratio over 5 s; `extra` adds top-level fields (load)."""
    return _DB_DOWN.replace("NAME", name).replace("SECONDS", str(fault_seconds)) + extra
