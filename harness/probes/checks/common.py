"""What every check shares: its typed result, the acknowledged requests, and their keys.

A check is about the requests of one `load.routes` route that the load generator's
users got a 2xx for ("acknowledged"). Each acknowledged request ends up in one of
three piles: verified, missing (a definitive "no": another status, a key the query
did not return) or unanswered (no definitive answer: a transport error, a timeout,
the check's deadline, a response body without the field to fill in). The status:

- no acknowledged request at all: "no data" (nothing was proven; never a pass);
- the check could not authenticate (an HTTP read answered 401 or 403): "error" — the
  check is wrong, not the writes, so those reads count as unanswered, never missing;
- any missing: "fail" — one definitive miss is a deviation, whatever else happened;
- otherwise any unanswered: "error" — the check could not give an answer for all;
- otherwise "pass".
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.load.generator import Record
from harness.specs.experiment import AckedRoute

__all__ = ["CheckResult", "Kind", "Status", "Tally", "acknowledged", "no_data", "value_of"]

Kind = Literal["http", "sql"]
Status = Literal["pass", "fail", "no data", "error"]
MAX_LISTED = 20


@dataclass(frozen=True)
class CheckResult:
    """One check's answer; `ok` (a pass) is a field so that `asdict` carries it."""

    name: str
    kind: Kind
    status: Status
    acknowledged: int  # requests of the `from` route answered 2xx
    verified: int
    missed: int  # definitively missing
    unanswered: int  # no definitive answer for these
    missing: tuple[str, ...]  # the first MAX_LISTED missing ones
    detail: str
    evidence: str  # the request or the query
    time: float  # wall clock when the check started
    seconds: float  # how long it took
    ok: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ok", self.status == "pass")


@dataclass
class Tally:
    """Where each acknowledged request ended up, while a check runs."""

    acknowledged: int
    verified: int = 0
    missing: list[str] = field(default_factory=list)
    unanswered: Counter[str] = field(default_factory=Counter)  # why -> how many
    denied: str | None = None  # the first "HTTP 401 from <url>": could not authenticate

    @property
    def status(self) -> Status:
        if not self.acknowledged:
            return "no data"
        if self.denied:
            return "error"
        return "fail" if self.missing else "error" if self.unanswered else "pass"

    def describe(self, subject: str) -> str:
        if not self.acknowledged:
            return subject
        detail = f"{subject}: {self.verified} of {self.acknowledged} acknowledged verified"
        if self.denied:
            detail = f"check could not authenticate ({self.denied}): {detail}"
        if self.missing:
            shown = ", ".join(self.missing[:3]) + (", …" if len(self.missing) > 3 else "")
            detail += f"; {len(self.missing)} missing ({shown})"
        if self.unanswered:
            why = ", ".join(f"{n} {reason}" for reason, n in self.unanswered.most_common())
            detail += f"; {sum(self.unanswered.values())} without an answer ({why})"
        return detail

    def result(
        self, name: str, kind: Kind, subject: str, evidence: str, started: float
    ) -> CheckResult:
        return CheckResult(
            name,
            kind,
            self.status,
            self.acknowledged,
            self.verified,
            len(self.missing),
            sum(self.unanswered.values()),
            tuple(self.missing[:MAX_LISTED]),
            self.describe(subject),
            evidence,
            started,
            round(time.time() - started, 3),
        )


def acknowledged(records: Sequence[Record], route: AckedRoute) -> list[Record]:
    """The requests of `route` (method and path template) answered 2xx."""
    name = f"{route.method} {route.path}"
    return [r for r in records if r.route == name and 200 <= r.status < 300]


def value_of(record: Record, name: str) -> str | None:
    """`idempotency_key` (the request's header) or a scalar field of the JSON body; a
    dotted name (`data.id`) walks into nested objects, for APIs that wrap their answer."""
    if name == "idempotency_key":
        return record.idempotency_key
    value: Any = record.body or {}
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None or isinstance(value, dict | list):
        return None
    return value if isinstance(value, str) else json.dumps(value)


def no_data(
    name: str, kind: Kind, records: Sequence[Record], route: AckedRoute, evidence: str
) -> CheckResult:
    """Zero acknowledged requests: say which routes the load did make, to catch a typo."""
    wanted = f"{route.method} {route.path}"
    seen = sorted({r.route for r in records})
    if not records:
        why = "the load made no request"
    elif wanted in seen:
        why = f"no {wanted} request was acknowledged (2xx)"
    else:
        why = f"the load made no {wanted} request (it made: {', '.join(seen)})"
    return Tally(0).result(name, kind, f"{why}: nothing to check", evidence, time.time())
