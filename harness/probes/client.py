"""Client-side probes: judged on what the load generator's users saw, right now.

Prometheus sees a breach only after its next scrape and once enough of the rate
window has filled; the load generator sees every failed request as it returns. A
guardrail on that view acts without waiting for either. No request completed in the
window is "no data", which never passes.

Inside a fault a guardrail counts only the requests sent since the fault began: the
successes of the second before it would dilute the fault's first failures (a 1 s
error ratio right after the injection is mostly pre-fault requests). Until one of
those has completed the guardrail is "pending", neither a pass nor a breach, and for
at most one window: once its window lies inside the fault, no request is no data.
A `during` expectation counts the same requests, and waits longer for them: a request
sent into the fault may hang until the load's timeout, so it is pending for its window
plus that timeout (`Scope.patience`) before no request is no data.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from harness.load.generator import Record
from harness.probes.promql import OPS, ProbeResult, Status
from harness.specs.experiment import ClientProbe

__all__ = ["Scope", "evaluate_client"]

PENDING = "no request sent since the fault began has completed yet"


@dataclass(frozen=True)
class Scope:
    """What a client probe counts besides its window.

    `faulted`: the replicas the faults hit (for `replicas: faulted` or `spared`);
    `since`: inside a fault, when the fault began (monotonic, as a record's
    `scheduled`): only requests scheduled from then count; `patience`: seconds past
    `since` that no such request is "pending" rather than no data (None: the probe's
    window); `now`: monotonic now (tests fix it)."""

    faulted: frozenset[str] = frozenset()
    since: float | None = None
    now: float | None = None
    patience: float | None = None


def evaluate_client(
    probe: ClientProbe, records: Sequence[Record], scope: Scope = Scope()
) -> ProbeResult:
    """Evaluate `probe` over `records` (those completed within its window)."""
    query = _describe(probe, scope)

    def result(value: float | None, status: Status, detail: str) -> ProbeResult:
        return ProbeResult(
            probe.name, query, probe.op, probe.threshold, value, time.time(), status, detail
        )

    picked, why = _select(probe, records, scope.faulted)
    if why:
        return result(None, "no data", why)
    if scope.since is not None:
        since = scope.since
        picked = [r for r in picked if r.scheduled >= since]
        now = time.monotonic() if scope.now is None else scope.now
        patience = probe.window if scope.patience is None else scope.patience
        if not picked and now - patience < since:
            return result(None, "pending", PENDING)
    if not picked:
        return result(None, "no data", f"no request{_whose(probe)} completed in the window")
    value = _metric(probe.metric, picked)
    ok = OPS[probe.op](value, probe.threshold)
    return result(value, "pass" if ok else "fail", f"{len(picked)} requests")


def _select(
    probe: ClientProbe, records: Sequence[Record], faulted: frozenset[str]
) -> tuple[list[Record], str]:
    """The records `probe` counts, or why none can be (its replica filter cannot apply)."""
    picked = [r for r in records if probe.route is None or r.route == probe.route]
    if probe.replicas is None:
        return picked, ""
    if any(not r.target for r in picked):
        return [], "the load goes to a URL: its requests name no replica to filter on"
    if probe.replicas == "spared":
        return [r for r in picked if r.target not in faulted], ""
    names = faulted if probe.replicas == "faulted" else frozenset(probe.replicas)
    if not names:
        return [], "the faults hit no replica: there is no faulted replica to filter on"
    return [r for r in picked if r.target in names], ""


def _describe(probe: ClientProbe, scope: Scope) -> str:
    """`client error_ratio over the last 2s`, and the requests it is narrowed to."""
    text = f"client {probe.metric} over the last {probe.window:g}s"
    hit = ", ".join(sorted(scope.faulted)) or "none"
    if probe.replicas == "faulted":
        text += f" through the faulted replicas ({hit})"
    elif probe.replicas == "spared":
        text += f" through the spared replicas (all but {hit})"
    elif probe.replicas is not None:
        text += f" through {', '.join(probe.replicas)}"
    if probe.route is not None:
        text += f" for {probe.route}"
    if scope.since is not None:
        text += ", sent since the fault began"
    return text


def _whose(probe: ClientProbe) -> str:
    """ " through orders-1 for POST /orders": what the filters asked for, for a no data."""
    if isinstance(probe.replicas, tuple):
        text = f" through {', '.join(probe.replicas)}"
    elif probe.replicas is not None:
        text = f" through a {probe.replicas} replica"
    else:
        text = ""
    return text + (f" for {probe.route}" if probe.route else "")


def _metric(metric: str, records: Sequence[Record]) -> float:
    if metric == "error_ratio":
        return sum(1 for r in records if not r.ok) / len(records)
    latencies = sorted(r.latency for r in records)
    q = 0.99 if metric == "p99_seconds" else 0.5
    return latencies[min(len(latencies) - 1, int(q * len(latencies)))]
