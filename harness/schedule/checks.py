"""The conditions that skip a slot, each a function returning why (or None: go ahead).

A check that cannot be made skips the slot too, saying so: a Prometheus that does not
answer or an SLO with no data is never read as "no alert" or "budget left".
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from harness.clients.prometheus import PrometheusClient, PrometheusError
from harness.errors import Refused
from harness.gate.indicators import Scope, read
from harness.gate.spec import Objective
from harness.safety.lock import refuse_if_unrecovered
from harness.schedule.history import Entry, read_entries, read_inflight
from harness.schedule.spec import AlertsFiring, BudgetBelow, SkipWhen
from harness.slo.spec import Slo

__all__ = [
    "Checks",
    "alerts_firing",
    "another_run",
    "budget_low",
    "previous_unclean",
    "skip_reason",
]


@dataclass(frozen=True)
class Checks:
    """What the checks read: Prometheus, the budget's SLO, the history and the stack."""

    prom: PrometheusClient
    runs_dir: Path
    stack_run_dir: Path
    slo: Slo | None = None
    window_scale: float = 1.0
    period: str = "30d"


def skip_reason(when: SkipWhen, checks: Checks) -> str | None:
    """Why this slot is skipped, the first reason found; None to run it."""
    reason = another_run(checks.runs_dir)
    if reason is None and when.previous_unclean:
        reason = previous_unclean(checks.runs_dir, checks.stack_run_dir)
    match = when.alert_match()
    if reason is None and match is not None:
        reason = alerts_firing(checks.prom, match)
    if reason is None and when.budget_below is not None:
        assert checks.slo is not None, "the SLO is looked up when the schedule starts"
        reason = budget_low(checks, checks.slo, when.budget_below)
    return reason


def another_run(runs_dir: Path) -> str | None:
    """A scheduled run of this history still in progress in another live process."""
    inflight = read_inflight(runs_dir)
    if inflight is None or inflight.get("pid") == os.getpid():
        return None
    pid = inflight.get("pid")
    if isinstance(pid, int) and _alive(pid):
        return f"another scheduled run is in progress (pid {pid}, slot {inflight.get('slot')})"
    return None


def previous_unclean(runs_dir: Path, stack_run_dir: Path) -> str | None:
    """The last run died, ended not as designed or with exit 3 or more, or left faults."""
    inflight = read_inflight(runs_dir)
    if inflight is not None and not _alive(int(inflight.get("pid", 0))):
        return (
            f"previous run unclean: the run of slot {inflight.get('slot')} did not finish "
            f"(its process {inflight.get('pid')} is gone)"
        )
    last = _last_run(read_entries(runs_dir))
    if last is not None and not last.clean:
        off = [f"{e.name}: {e.verdict}" for e in last.experiments if not e.as_designed]
        detail = "; ".join(off) or last.reason or "no experiment"
        return f"previous run unclean: slot {last.slot} exit {last.exit_code} ({detail})"
    try:
        refuse_if_unrecovered(stack_run_dir)
    except Refused as exc:
        return f"previous run unclean: {exc}"
    return None


def _last_run(entries: list[Entry]) -> Entry | None:
    """The last entry that ran or was acknowledged (an acknowledged one is clean)."""
    last = next((e for e in reversed(entries) if e.decision != "skipped"), None)
    return None if last is None or last.decision == "acknowledged" else last


def alerts_firing(prom: PrometheusClient, match: AlertsFiring) -> str | None:
    """Firing alerts that carry every label of `match`, named with their labels."""
    wanted = match.wanted()
    try:
        alerts = prom.alerts()
    except PrometheusError as exc:
        return f"cannot check alerts: {exc}"
    firing = [
        a["labels"]
        for a in alerts
        if a.get("state") == "firing"
        and all(a.get("labels", {}).get(k) == v for k, v in wanted.items())
    ]
    if not firing:
        return None
    names = sorted({_describe(labels) for labels in firing})
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"alert firing: {', '.join(names[:3])}{more}"


def _describe(labels: dict[str, str]) -> str:
    shown = ("severity", "service", "replica", "sloth_slo")
    inner = ", ".join(f"{k}={labels[k]}" for k in shown if k in labels)
    return f"{labels.get('alertname', '?')}{{{inner}}}"


def budget_low(checks: Checks, slo: Slo, below: BudgetBelow) -> str | None:
    """The SLO's error budget left over its period, read as the gate reads it."""
    objective = Objective.model_validate(
        {
            "name": "budget",
            "indicator": "budget_remaining",
            "slo": slo.name,
            "pass": [{"op": ">=", "threshold": below.remaining}],
        }
    )
    now = time.time()
    scope = Scope(checks.prom, now - 60, now, checks.window_scale, checks.period)
    try:
        reading = read(objective, slo, scope)
    except PrometheusError as exc:
        return f"cannot check the error budget of {slo.name}: {exc}"
    if reading.value is None:
        return f"cannot check the error budget of {slo.name}: no data ({reading.query})"
    if reading.value < below.remaining:
        return (
            f"error budget low: {slo.name} has {reading.value:.1%} left {reading.detail}, "
            f"below {below.remaining:.0%} ({reading.query})"
        )
    return None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
