"""The journal's events, named once and read back as typed records.

Every process that acts on a run appends events by name (`EventName`) with their
fields (`Journal.record`); whoever reads the journal — the run itself, its watchdog,
`harness recover`, the report — parses each line once (`parse_event`) into the record
of its name and matches on its type, never on a string. In the spirit of Chaos Mesh's
`Record{Id, Phase}`, a fault's life is one family of records keyed by its `fault_id`:
applying → applied → removed (or revert_failed, and retried).

The format on disk is the JSON line as written: `time`, `event`, `by`, `pid` and the
event's own fields. Parsing never raises: an event of a name this version does not know,
or one whose fields do not fit its record (a line from an older version, or a damaged
one), parses to the plain `Event`, which still carries every field as written (`raw`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

__all__ = [
    "ENVELOPE",
    "AbortEvent",
    "Event",
    "EventName",
    "FaultApplied",
    "FaultApplying",
    "FaultEvent",
    "FaultMaxDuration",
    "FaultRemoved",
    "FaultRevertFailed",
    "HandedOver",
    "ObjectsSwept",
    "PhaseEnd",
    "PhaseStart",
    "Planned",
    "Probe",
    "RampBreakingPoint",
    "RampStep",
    "RampStepEnd",
    "Recovered",
    "ReplicaBack",
    "RollbackComplete",
    "RollbackIncomplete",
    "RunStarted",
    "VerdictEvent",
    "WatchdogRecovering",
    "WatchdogStackGone",
    "WatchdogStarted",
    "WatchdogWatching",
    "parse_event",
    "parse_events",
]


class EventName(StrEnum):
    """Every event a journal holds, by the name written in its `event` field."""

    RUN_STARTED = "run.started"  # the header: the run, its runtime, its provenance
    PLANNED = "planned"
    PHASE_START = "phase.start"
    PHASE_END = "phase.end"
    PROBE = "probe"
    CHECK = "check"
    ALERT = "alert"
    LOAD_STARTED = "load.started"
    LOAD_STOPPED = "load.stopped"
    FAULT_APPLYING = "fault.applying"  # written and fsynced before the fault is applied
    FAULT_APPLIED = "fault.applied"
    FAULT_REMOVED = "fault.removed"
    FAULT_REVERT_FAILED = "fault.revert_failed"
    FAULT_MAX_DURATION = "fault.max_duration"
    REPLICA_BACK = "replica.back"
    ROLLBACK_COMPLETE = "rollback.complete"
    ROLLBACK_INCOMPLETE = "rollback.incomplete"
    ROLLBACK_HANDED_OVER = "rollback.handed_over"  # the watchdog takes over at once
    ABORT = "abort"
    RAMP_STEP = "ramp.step"
    RAMP_STEP_END = "ramp.step_end"
    RAMP_BREAKING_POINT = "ramp.breaking_point"
    WATCHDOG_STARTED = "watchdog.started"
    WATCHDOG_WATCHING = "watchdog.watching"
    WATCHDOG_RECOVERING = "watchdog.recovering"
    WATCHDOG_STACK_GONE = "watchdog.stack_gone"
    WATCHDOG_RELEASED = "watchdog.released"
    RECOVERED = "recovered"
    OBJECTS_SWEPT = "objects.swept"  # the runtime's fault objects of the run, found by label
    EXCEPTION = "exception"
    VERDICT = "verdict"


ENVELOPE = ("time", "event", "by", "pid")  # what every event carries besides its own fields


class Event(BaseModel):
    """Any event: what every line carries. An event no record below interprets (or one
    that does not fit its record) is read as this, its fields kept in `raw`."""

    model_config = ConfigDict(frozen=True, extra="allow")

    event: str
    time: float = 0.0
    by: str = ""
    pid: int | None = None
    _raw: dict[str, Any] | None = PrivateAttr(default=None)  # set by parse_event

    @property
    def raw(self) -> dict[str, Any]:
        """The line as written."""
        return self.model_dump(exclude_unset=True) if self._raw is None else self._raw

    @property
    def fields(self) -> dict[str, Any]:
        """The event's own fields as written (without the envelope)."""
        return {k: v for k, v in self.raw.items() if k not in ENVELOPE}


class RunStarted(Event):
    """The journal's first event: the run's header (`fields`), read by recover and the report."""

    run_id: str = ""
    runtime: dict[str, Any] | str | None = None  # how another process reaches it again
    started: float | None = None
    source: str = ""
    stack_file: str = ""
    seed: int | None = None
    harness_version: str = ""
    git_commit: str | None = None


class Planned(Event):
    fault: int
    type: str
    replicas: list[str]
    services: list[str] = []  # each replica's service (a pod's name does not say it)
    links: list[str] = []
    step: int | None = None


class PhaseStart(Event):
    phase: str


class PhaseEnd(Event):
    phase: str


class Probe(Event):
    """One probe evaluated; its `time` is the evaluation's."""

    phase: str
    name: str
    query: str = ""
    op: str = ""
    threshold: float
    value: float | None = None
    status: str = ""
    detail: str = ""
    judged: bool = True
    why: str = ""
    settle: float | None = None
    basis: str = ""


class FaultEvent(Event):
    """A step in the life of one injected action, keyed by its `fault_id`."""

    fault_id: str


class FaultApplying(FaultEvent):
    """Journaled before the action is applied: what `recover` reverts if nothing says
    it was removed."""

    action: dict[str, Any] = {}  # without it, still listed open: what may be in place
    description: str = ""


class FaultApplied(FaultEvent):
    pass


class FaultRemoved(FaultEvent):
    seconds: float | None = None


class FaultRevertFailed(FaultEvent):
    error: str = ""


class FaultMaxDuration(Event):
    fault: int


class ReplicaBack(Event):
    replica: str
    identity: str = ""
    seconds: float
    killed: str | None = None  # with stages: the instance it replaced
    stages: dict[str, Any] | None = None  # the runtime's own measures (replacement_stages)


class RollbackComplete(Event):
    seconds: float | None = None


class RollbackIncomplete(Event):
    seconds: float | None = None
    still_open: list[str] = []


class HandedOver(Event):
    """The harness gave up retrying its rollback: its watchdog takes over at once."""

    still_open: list[str] = []
    reason: str = ""


class AbortEvent(Event):
    reason: str


class RampStep(Event):
    step: int
    description: str = ""
    replicas: list[str] = []


class RampStepEnd(Event):
    step: int
    status: str


class RampBreakingPoint(Event):
    step: int
    seconds_to_break: float | None = None
    summary: str = ""


class WatchdogStarted(Event):
    watchdog_pid: int


class WatchdogWatching(Event):
    stale: float


class WatchdogRecovering(Event):
    reason: str = ""


class WatchdogStackGone(Event):
    open: list[str] = []


class Recovered(Event):
    reverted: int
    failed: int


class ObjectsSwept(Event):
    """What a sweep of the run's labelled fault objects deleted, or why it could not."""

    objects: list[str] = []
    error: str | None = None


class VerdictEvent(Event):
    """The outcome as `harness.outcome.verdict_fields` writes it; None when no verdict."""

    verdict: str | None = None
    exit_code: int | None = None
    reasons: list[str] = []
    figures: dict[str, Any] = {}
    load: dict[str, Any] | None = None
    checks: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    budget: list[dict[str, Any]] = []
    abort: dict[str, Any] | None = None
    phases: list[dict[str, Any]] = []
    fault_windows: list[dict[str, Any]] = []
    plan: list[Any] = []
    ramp: dict[str, Any] | None = None
    finished: float | None = None


_RECORDS: dict[str, type[Event]] = {
    EventName.RUN_STARTED: RunStarted,
    EventName.PLANNED: Planned,
    EventName.PHASE_START: PhaseStart,
    EventName.PHASE_END: PhaseEnd,
    EventName.PROBE: Probe,
    EventName.FAULT_APPLYING: FaultApplying,
    EventName.FAULT_APPLIED: FaultApplied,
    EventName.FAULT_REMOVED: FaultRemoved,
    EventName.FAULT_REVERT_FAILED: FaultRevertFailed,
    EventName.FAULT_MAX_DURATION: FaultMaxDuration,
    EventName.REPLICA_BACK: ReplicaBack,
    EventName.ROLLBACK_COMPLETE: RollbackComplete,
    EventName.ROLLBACK_INCOMPLETE: RollbackIncomplete,
    EventName.ROLLBACK_HANDED_OVER: HandedOver,
    EventName.ABORT: AbortEvent,
    EventName.RAMP_STEP: RampStep,
    EventName.RAMP_STEP_END: RampStepEnd,
    EventName.RAMP_BREAKING_POINT: RampBreakingPoint,
    EventName.WATCHDOG_STARTED: WatchdogStarted,
    EventName.WATCHDOG_WATCHING: WatchdogWatching,
    EventName.WATCHDOG_RECOVERING: WatchdogRecovering,
    EventName.WATCHDOG_STACK_GONE: WatchdogStackGone,
    EventName.RECOVERED: Recovered,
    EventName.OBJECTS_SWEPT: ObjectsSwept,
    EventName.VERDICT: VerdictEvent,
}


def parse_event(line: dict[str, Any]) -> Event:
    """The typed record of one journal line; never raises (see the module's docstring)."""
    name = line.get("event")
    record = _RECORDS.get(name, Event) if isinstance(name, str) else Event
    try:
        event = record.model_validate(line)
    except ValidationError:
        event = _plain(line)
    event._raw = line
    return event


def _plain(line: dict[str, Any]) -> Event:
    try:
        return Event.model_validate(line)
    except ValidationError:  # even the envelope is damaged: keep the name, and `raw`
        return Event(event=str(line.get("event", "")))


def parse_events(lines: list[dict[str, Any]]) -> list[Event]:
    return [parse_event(line) for line in lines]
