"""Proof that an expected alert fired, reached its receiver and resolved.

The evidence is Prometheus's own `ALERTS` series (one sample per rule evaluation while
an alert is firing, so its first sample after the fault's start is the moment it
fired) and the harness's webhook receiver (each notification with its arrival time).
This module only reads that evidence; the experiment phase decides how long to wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.alerts.floor import Floor
from harness.clients.prometheus import Series
from harness.clients.receiver import Notification

__all__ = ["AlertProof", "Firing", "firing_of", "notification_of"]


@dataclass(frozen=True)
class Firing:
    """What the ALERTS samples say about one expected alert."""

    fired_at: float | None = None  # first firing evaluation at or after the fault's start
    already: bool = False  # it was firing when the fault started: nothing is proven
    last_at: float | None = None  # the latest firing evaluation seen
    resolved_at: float | None = None  # the evaluation after the last firing one
    labels: dict[str, str] = field(default_factory=dict)


def firing_of(
    series: Sequence[Series], fault_start: float, now: float, evaluation: float
) -> Firing:
    """When the alert fired and resolved, from raw `ALERTS{...}[range]` samples.

    Resolved means no matching series has been firing for two evaluations: a series
    that has not been written for that long is gone (Prometheus writes every firing
    alert at every evaluation).
    """
    gap = 2 * evaluation
    fired: tuple[float, dict[str, str]] | None = None
    last: float | None = None
    for s in series:
        times = sorted(t for t, _v in s.points)
        before = [t for t in times if fault_start - gap <= t < fault_start]
        after = [t for t in times if t >= fault_start]
        if before and after and after[0] - before[-1] <= gap:
            return Firing(already=True, last_at=times[-1], labels=s.labels)
        if after and (fired is None or after[0] < fired[0]):
            fired = (after[0], s.labels)
        if after:
            last = max(last or after[-1], after[-1])
    if fired is None:
        return Firing()
    resolved = last + evaluation if last is not None and now - last > gap else None
    return Firing(fired[0], False, last, resolved, fired[1])


def notification_of(
    notes: Sequence[Notification],
    alert: str,
    labels: dict[str, str],
    since: float,
    status: str = "firing",
) -> Notification | None:
    """The first notification at or after `since` carrying the alert in `status`."""
    for note in sorted(notes, key=lambda n: n.received_at):
        if note.received_at < since:
            continue
        for a in note.alerts:
            if (
                a.alertname == alert
                and a.status == status
                and all(a.labels.get(k) == v for k, v in labels.items())
            ):
                return note
    return None


@dataclass
class AlertProof:
    """One expected alert's evidence and judgement (times are wall clock, seconds)."""

    alert: str
    labels: dict[str, str]
    query: str  # the PromQL read for ALERTS
    receiver_url: str
    fault_start: float
    rollback: float | None
    floor: Floor | None
    share: float
    share_source: str  # "expectation", "load" (what the users saw) or "assumed"
    fired_at: float | None = None
    notified_at: float | None = None
    notified_receiver: str | None = None
    resolved_at: float | None = None
    resolve_notified_at: float | None = None
    fired_labels: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def time_to_fire(self) -> float | None:
        return _since(self.fired_at, self.fault_start)

    @property
    def time_to_notify(self) -> float | None:
        return _since(self.notified_at, self.fault_start)

    @property
    def time_to_resolve(self) -> float | None:
        """Seconds from the rollback's end to the alert's resolution."""
        return _since(self.resolved_at, self.rollback)

    @property
    def slack(self) -> tuple[float | None, float | None]:
        """Measured minus floor, for firing and for notification."""
        if self.floor is None:
            return None, None
        return (
            _minus(self.time_to_fire, self.floor.fire),
            _minus(self.time_to_notify, self.floor.notify),
        )

    def summary(self) -> str:
        parts = [f"alert {self.alert}"]
        if self.time_to_fire is not None:
            parts.append(f"fired {self.time_to_fire:.1f}s after the fault started")
        if self.time_to_notify is not None:
            parts.append(f"reached {self.notified_receiver} at {self.time_to_notify:.1f}s")
        if self.floor is not None and self.floor.fire is not None:
            parts.append(f"floor {self.floor.fire:g}s / {self.floor.notify:g}s")
        if self.time_to_resolve is not None:
            parts.append(f"resolved {self.time_to_resolve:.1f}s after rollback")
        text = ", ".join(parts)
        return f"{text}: {'; '.join(self.problems)}" if self.problems else text

    def to_json(self) -> dict[str, Any]:
        fire_slack, notify_slack = self.slack
        return {
            "alert": self.alert,
            "labels": self.labels,
            "ok": self.ok,
            "problems": self.problems,
            "query": self.query,
            "receiver_url": self.receiver_url,
            "fault_start": self.fault_start,
            "fired_at": self.fired_at,
            "time_to_fire": self.time_to_fire,
            "notified_at": self.notified_at,
            "notified_receiver": self.notified_receiver,
            "time_to_notify": self.time_to_notify,
            "resolved_at": self.resolved_at,
            "time_to_resolve": self.time_to_resolve,
            "resolve_notified_at": self.resolve_notified_at,
            "fired_labels": self.fired_labels,
            "floor_fire": self.floor.fire if self.floor else None,
            "floor_notify": self.floor.notify if self.floor else None,
            "floor": self.floor.explain() if self.floor else None,
            "slack_fire": fire_slack,
            "slack_notify": notify_slack,
            "share": self.share,
            "share_source": self.share_source,
        }


def _since(t: float | None, origin: float | None) -> float | None:
    return None if t is None or origin is None else round(t - origin, 3)


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)
