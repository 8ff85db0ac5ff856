"""Client-side probes: judged on what the load generator's users saw, right now.

Prometheus sees a breach only after its next scrape and once enough of the rate
window has filled; the load generator sees every failed request as it returns. A
guardrail on that view acts without waiting for either. No request completed in the
window is "no data", which never passes.
"""

from __future__ import annotations

import time

from harness.load.generator import Record
from harness.probes.promql import OPS, ProbeResult
from harness.specs.experiment import ClientProbe

__all__ = ["evaluate_client"]


def evaluate_client(probe: ClientProbe, records: list[Record]) -> ProbeResult:
    """Evaluate `probe` over `records` (those completed within its window)."""
    query = f"client {probe.metric} over the last {probe.window:g}s"
    now = time.time()
    if not records:
        return ProbeResult(
            probe.name,
            query,
            probe.op,
            probe.threshold,
            None,
            now,
            "no data",
            "no request completed in the window",
        )
    value = _metric(probe.metric, records)
    ok = OPS[probe.op](value, probe.threshold)
    return ProbeResult(
        probe.name,
        query,
        probe.op,
        probe.threshold,
        value,
        now,
        "pass" if ok else "fail",
        f"{len(records)} requests",
    )


def _metric(metric: str, records: list[Record]) -> float:
    if metric == "error_ratio":
        return sum(1 for r in records if not r.ok) / len(records)
    latencies = sorted(r.latency for r in records)
    q = 0.99 if metric == "p99_seconds" else 0.5
    return latencies[min(len(latencies) - 1, int(q * len(latencies)))]
