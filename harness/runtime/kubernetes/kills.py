"""What the runtime remembers of a pod it deleted: whose it was, who its siblings were,
and how long its replacement took.

On Kubernetes a controller, not the harness, replaces a deleted pod, under a new name
(ReplicaSet) or the same one (StatefulSet). The replacement is a pod of the same
controlling owner that was not there when the pod was deleted: the owner's pods at that
moment (its siblings) are remembered, so a sibling is never taken for the replacement.
A pod must also be created no earlier than the delete by the API server's own clock
(its `Date`): both are whole seconds and the Date is written after the delete, so a
second is allowed; the siblings are the real test. The record is written before the
delete, to the run directory when there is one, so the watchdog and `recover`, rebuilt
from the journal in another process, find the same replacement.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lightkube.resources.core_v1 import Pod

from harness.runtime.kubernetes.pods import condition_since, controller_of, pod_name

__all__ = ["KILLS_FILE", "Kill", "KillBook", "KillTiming", "Sighting", "successor"]

KILLS_FILE = "kubernetes-kills.jsonl"


@dataclass(frozen=True)
class Sighting:
    """A pod as last listed: its controlling owner and that owner's pods then (itself
    among them: one set shared by all of them)."""

    owner: str | None
    siblings: frozenset[str]


@dataclass(frozen=True)
class Kill:
    uid: str
    name: str  # namespace/name
    signal: str
    owner: str | None
    siblings: tuple[str, ...]  # the owner's pods just before the delete (itself too)
    at: float  # wall clock, just before the delete
    server_at: float | None = None  # the API server's clock at the delete (whole seconds)

    def sighting(self) -> Sighting:
        return Sighting(self.owner, frozenset(self.siblings))


class KillBook:
    """The kills of this runtime, kept in memory and (with a folder) in a file that
    other processes read: only what was appended since they last looked."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / KILLS_FILE if folder is not None else None
        self._kills: dict[str, Kill] = {}
        self._read = 0  # bytes of the file taken in so far

    def add(self, kill: Kill) -> None:
        self._kills[kill.uid] = kill
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(asdict(kill)) + "\n")

    def get(self, uid: str) -> Kill | None:
        if uid not in self._kills:
            self._take_in()
        return self._kills.get(uid)

    def _take_in(self) -> None:
        if self.path is None or not self.path.is_file():
            return
        with self.path.open("rb") as f:
            f.seek(self._read)
            chunk = f.read()
        whole = chunk[: chunk.rfind(b"\n") + 1]  # a line being written waits
        self._read += len(whole)
        for line in whole.decode("utf-8", errors="replace").splitlines():
            kill = _parsed(line)
            if kill is not None:
                self._kills[kill.uid] = kill  # a later line completes an earlier one


def _parsed(line: str) -> Kill | None:
    """One line of the file; None for one cut short (a harness killed mid-write)."""
    try:
        data = json.loads(line)
        return Kill(**{**data, "siblings": tuple(data["siblings"])})
    except (ValueError, TypeError, KeyError):
        return None


def successor(
    name: str,
    uid: str,
    seen: Sighting | None,
    after: float | None,
    pods: list[Pod],
    taken: frozenset[str] = frozenset(),
) -> Pod | None:
    """The pod that took the place of pod `name` (`uid`, gone) among live `pods`: the same
    name with a new uid, else a pod of the same owner that is no sibling, created no
    earlier than `after` (server clock) allows; the first created if several. A pod in
    `taken` already replaced another killed pod: two pods of one owner killed together
    have two replacements, never one counted twice."""
    others = [
        p
        for p in pods
        if p.metadata is not None and p.metadata.uid != uid and p.metadata.uid not in taken
    ]
    same_name = [p for p in others if pod_name(p) == name]
    if same_name:
        return same_name[0]
    if seen is None or seen.owner is None:
        return None
    found = [
        p
        for p in others
        if controller_of(p) == seen.owner
        and p.metadata is not None
        and p.metadata.uid not in seen.siblings
        and (after is None or _created(p) >= int(after) - 1)  # whole seconds: see above
    ]
    return min(found, key=lambda p: (_created(p), pod_name(p)), default=None)


def _created(pod: Pod) -> float:
    stamp = pod.metadata.creationTimestamp if pod.metadata else None
    return stamp.timestamp() if stamp is not None else 0.0


@dataclass
class KillTiming:
    """Seconds from the delete to each step of the replacement (None: not seen yet).

    Each figure is when the runtime first saw the step, unless the pod's own timestamp
    (creation, the Ready condition's transition: whole seconds, the API server's clock)
    proves it happened earlier: then that bound. So every figure is an upper bound, as
    tight as the two sources allow (and as the caller's polling makes the first)."""

    killed: str
    identity: str
    signal: str
    replacement: str | None = None
    replacement_identity: str | None = None
    created: float | None = None
    running: float | None = None
    ready: float | None = None
    _server_at: float | None = field(default=None, repr=False)

    def observe(self, pod: Pod, elapsed: float) -> None:
        """Note what the replacement `pod` shows `elapsed` seconds after the delete."""
        assert pod.metadata is not None
        self.replacement = self.replacement or pod_name(pod)
        self.replacement_identity = self.replacement_identity or f"uid:{pod.metadata.uid}"
        if self.created is None:
            self.created = self._bound(elapsed, pod.metadata.creationTimestamp)
        if self.running is None and pod.status is not None and pod.status.phase == "Running":
            self.running = round(elapsed, 3)  # no timestamp marks the phase change
        if self.ready is None and (since := condition_since(pod, "Ready")) is not None:
            self.ready = self._bound(elapsed, since)

    def _bound(self, observed: float, stamp: datetime | None) -> float:
        if stamp is None or self._server_at is None:
            return round(observed, 3)
        latest = stamp.timestamp() + 1 - self._server_at  # it happened before this
        return round(max(0.0, min(observed, latest)), 3)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}
