"""Alerts an experiment expects to fire (`expectations.alerts`) or not (`no_alerts`).

An expected alert is proven by Prometheus's own `ALERTS` series (when it fired, when it
resolved) and by the harness's webhook receiver (when Alertmanager delivered it, and to
which receiver). An alert that must not fire becomes a probe on `ALERTS`, so it is
polled, judged and reported like every other probe.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from harness.specs.base import Strict
from harness.specs.durations import Duration
from harness.specs.probes import Probe

__all__ = ["ALERT_NAME", "AlertExpectation", "NoAlert", "alerts_selector"]

ALERT_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"  # Prometheus's alert (metric) name rule
_LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"


def _labels(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if not re.match(_LABEL_NAME, key) or key.startswith("__"):
            raise ValueError(f"{key!r} is not a label name")
        if key in ("alertname", "alertstate"):
            raise ValueError(f"{key!r} is set by the harness: use `alert`")
    return value


class AlertExpectation(Strict):
    """An alert that must fire because of the faults, reach a receiver, and resolve."""

    alert: str = Field(pattern=ALERT_NAME, description="the alert rule's name (alertname)")
    labels: dict[str, str] = Field(
        {}, description="labels the firing alert must carry, e.g. {service: gateway}"
    )
    fires_within: Duration = Field(
        gt=0, description="it must reach firing this soon after the first fault starts"
    )
    receiver: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="the Alertmanager receiver its notification must reach (e.g. page)",
    )
    notified_within: Duration | None = Field(
        None,
        gt=0,
        description="the notification must arrive this soon after the first fault starts "
        "(default: fires_within plus 15s)",
    )
    resolves_within: Duration | None = Field(
        None, gt=0, description="it must stop firing this soon after the rollback"
    )
    share: float | None = Field(
        None,
        gt=0,
        le=1,
        description="for the theoretical floor: the share of requests the fault breaks "
        "(default: what the load's users saw during the fault)",
    )

    _check_labels = field_validator("labels")(_labels)

    @property
    def notify_deadline(self) -> float:
        return self.notified_within or self.fires_within + 15.0

    def matchers(self) -> str:
        return alerts_selector(self.alert, self.labels, "firing")


class NoAlert(Strict):
    """An alert that must not fire: a false positive fails the experiment.

    `when: steady` (default) holds it to the steady state before the faults: the run
    waits for it like any steady-state probe and is "not steady" if it keeps firing.
    `when: run` also holds it while the faults are on and after them: an experiment
    whose hypothesis is that an alert stays quiet (deviated if it fires).
    """

    alert: str | None = Field(
        None, pattern=ALERT_NAME, description="the alert's name; omit to mean any alert"
    )
    labels: dict[str, str] = Field({}, description="e.g. {severity: page}: no page at all")
    when: Literal["steady", "run"] = Field(
        "steady", description="steady: before the faults; run: before, during and after"
    )

    _check_labels = field_validator("labels")(_labels)

    @property
    def name(self) -> str:
        what = self.alert or "any-alert"
        extra = "".join(f"-{v}" for _k, v in sorted(self.labels.items()))
        return f"no-{what}{extra}".lower().replace("_", "-")

    def probe(self, evaluation: float = 60.0) -> Probe:
        """A probe that passes while no matching alert fires (0 firing series).

        Only samples from the last three evaluations count: Prometheus writes no
        staleness marker for an alert that was firing when it stopped, so after a
        restart the old sample would read as firing for the 5-minute lookback.
        """
        selector = alerts_selector(self.alert, self.labels, "firing")
        fresh = f"{max(5, round(3 * evaluation))}"
        return Probe(
            name=self.name,
            query=f"count(timestamp({selector}) > time() - {fresh}) or vector(0)",
            op="==",
            threshold=0,
            description=f"no firing alert matching {selector} (expectations.no_alerts)",
        )


def alerts_selector(alert: str | None, labels: dict[str, str], state: str) -> str:
    """`ALERTS{alertname="X",alertstate="firing",k="v"}` with label values escaped."""
    pairs = ([("alertname", alert)] if alert else []) + [("alertstate", state)]
    pairs += sorted(labels.items())
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return f"ALERTS{{{inner}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
