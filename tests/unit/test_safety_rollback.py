"""The RevertStack: newest first, one group at a time, a failed revert never forgotten, and
the final rollback retried until the control plane is back or handed to the watchdog."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from harness.faults import FaultEnv
from harness.faults.network import ToxicOn
from harness.safety.events import EventName, FaultEvent, FaultRemoved, FaultRevertFailed, HandedOver
from harness.safety.journal import Journal, still_open
from harness.safety.rollback import Backoff, RevertStack
from harness.safety.signals import Interrupted, deferred_signals, raise_on_signals
from tests.fakes import FakeToxiproxy


@dataclass(eq=False)
class Recorded:
    """A fake action that logs its revert; `failures` reverts raise before one succeeds."""

    kind: ClassVar[str] = "recorded"
    name: str
    log: list[str]
    failures: int = 0
    attempts: int = field(default=0)

    def apply(self, env: FaultEnv) -> None:
        self.log.append(f"apply {self.name}")

    def revert(self, env: FaultEnv) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise RuntimeError(f"{self.name} is stuck")
        self.log.append(f"revert {self.name}")

    def describe(self) -> str:
        return f"fake {self.name}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name}


class _NoRuntime:
    """Network actions never ask the runtime anything."""

    kind = "none"

    def __getattr__(self, name: str):
        raise AssertionError(f"runtime.{name} is not used by network actions")


@pytest.fixture
def journal(tmp_path):
    return Journal.create(tmp_path / "journal.jsonl", "harness")


@pytest.fixture
def env():
    return FaultEnv(toxiproxy=FakeToxiproxy().client(), runtime=_NoRuntime())


def _push(stack: RevertStack, journal: Journal, group: int, action: Recorded) -> None:
    fault_id = f"f{group}/{action.name}"
    journal.record(EventName.FAULT_APPLYING, fault_id=fault_id, action=action.to_json())
    stack.push(group, fault_id, action)
    action.apply(stack.env)


def _events(journal: Journal, *names: str) -> list[tuple[str, str]]:
    return [
        (e.event, e.fault_id)
        for e in journal.events
        if isinstance(e, FaultEvent) and e.event in names
    ]


def test_unwind_reverts_newest_first(journal, env):
    log: list[str] = []
    stack = RevertStack(journal, env)
    for group, name in [(0, "a"), (1, "b"), (1, "c")]:
        _push(stack, journal, group, Recorded(name, log))
    assert stack.unwind() == []
    assert log[3:] == ["revert c", "revert b", "revert a"]
    assert stack.pending == []
    assert [e[1] for e in _events(journal, "fault.removed")] == ["f1/c", "f1/b", "f0/a"]
    assert still_open(journal.path) == []
    assert all(e.seconds is not None for e in journal.events if isinstance(e, FaultRemoved))


def test_unwind_of_a_group_touches_only_that_group(journal, env):
    log: list[str] = []
    stack = RevertStack(journal, env)
    for group, name in [(0, "a"), (1, "b"), (0, "c"), (2, "d")]:
        _push(stack, journal, group, Recorded(name, log))
    log.clear()
    assert stack.unwind(group=0) == []
    assert log == ["revert c", "revert a"]
    assert [h.fault_id for h in stack.pending] == ["f1/b", "f2/d"]
    assert [f.fault_id for f in still_open(journal.path)] == ["f1/b", "f2/d"]


def test_a_failed_revert_is_journaled_kept_and_does_not_stop_the_others(journal, env):
    log: list[str] = []
    stack = RevertStack(journal, env)
    stuck = Recorded("b", log, failures=1)
    for action in (Recorded("a", log), stuck, Recorded("c", log)):
        _push(stack, journal, 0, action)
    log.clear()
    failed = stack.unwind()
    assert [h.fault_id for h in failed] == ["f0/b"]
    assert log == ["revert c", "revert a"]  # the stuck one did not keep "a" in place
    assert [h.fault_id for h in stack.pending] == ["f0/b"]
    (event,) = [e for e in journal.events if isinstance(e, FaultRevertFailed)]
    assert event.fault_id == "f0/b" and "b is stuck" in event.error
    assert [f.fault_id for f in still_open(journal.path)] == ["f0/b"]
    assert failed[0].describe() == "fake b [f0/b]"

    assert stack.unwind() == []  # a later unwind retries it
    assert log[-1] == "revert b"
    assert stack.pending == []
    assert _events(journal, "fault.removed", "fault.revert_failed") == [
        ("fault.removed", "f0/c"),
        ("fault.revert_failed", "f0/b"),
        ("fault.removed", "f0/a"),
        ("fault.removed", "f0/b"),
    ]
    assert still_open(journal.path) == []


def test_a_revert_that_keeps_failing_stays_pending(journal, env):
    log: list[str] = []
    stack = RevertStack(journal, env)
    _push(stack, journal, 0, Recorded("a", log, failures=5))
    for _ in range(3):
        assert len(stack.unwind()) == 1
    assert len(stack.pending) == 1
    assert len(_events(journal, "fault.revert_failed")) == 3


def test_a_real_toxic_revert_against_a_failing_toxiproxy(journal):
    fake = FakeToxiproxy(["db"])
    env = FaultEnv(toxiproxy=fake.client(), runtime=_NoRuntime())
    stack = RevertStack(journal, env)
    toxic = ToxicOn("db", "t1", "latency", "downstream", 1.0, {"latency": 100})
    journal.record("fault.applying", fault_id="f0/0", action=toxic.to_json())
    stack.push(0, "f0/0", toxic)
    toxic.apply(env)
    assert fake.toxic_names("db") == ["t1"]
    fake.refuse(methods={"DELETE"})
    assert len(stack.unwind()) == 1
    assert fake.toxic_names("db") == ["t1"]
    fake.heal()
    assert stack.unwind() == []
    assert fake.toxic_names("db") == []
    assert still_open(journal.path) == []


# -- the final rollback: retried until the control plane is back, else handed over ----------


def _toxic_in_place(journal: Journal, fake: FakeToxiproxy) -> RevertStack:
    env = FaultEnv(toxiproxy=fake.client(), runtime=_NoRuntime())
    stack = RevertStack(journal, env)
    toxic = ToxicOn("db", "t1", "latency", "downstream", 1.0, {"latency": 100})
    journal.record("fault.applying", fault_id="f0/0", action=toxic.to_json())
    stack.push(0, "f0/0", toxic)
    toxic.apply(env)
    return stack


def _handed_over(journal: Journal) -> list[HandedOver]:
    return [e for e in journal.events if isinstance(e, HandedOver)]


def test_backoff_doubles_to_a_one_second_cap():
    backoff = Backoff()
    assert [backoff.next() for _ in range(5)] == [0.25, 0.5, 1.0, 1.0, 1.0]
    small = Backoff(first=0.1, cap=0.3)
    assert [small.next() for _ in range(4)] == [0.1, 0.2, 0.3, 0.3]


@pytest.mark.parametrize("down", [0.6, 1.3, 2.2])
def test_roll_back_removes_the_fault_within_a_backoff_step_of_the_control_plane_returning(
    journal, down
):
    fake = FakeToxiproxy(["db"])
    stack = _toxic_in_place(journal, fake)
    fake.refuse(methods={"DELETE"})  # Toxiproxy gone: every revert fails until it is back
    back: list[float] = []

    def come_back() -> None:
        back.append(time.monotonic())
        fake.heal()

    told: list[str] = []
    timer = threading.Timer(down, come_back)
    timer.start()
    try:
        assert stack.roll_back(told.append) == []
    finally:
        timer.cancel()
    removed = time.monotonic()
    assert back, "roll_back returned before the control plane came back"
    assert removed - back[0] <= Backoff().cap + 0.25  # one backoff step, and some slack
    assert fake.toxic_names("db") == [] and stack.pending == []
    assert still_open(journal.path) == [] and _handed_over(journal) == []
    trail = _events(journal, "fault.removed", "fault.revert_failed")
    assert trail[-1] == ("fault.removed", "f0/0") and len(trail) >= 3
    assert told == [
        "could not remove 1 fault(s); retrying for up to 30s "
        "(Ctrl-C hands them to the watchdog now)"
    ]


def test_roll_back_hands_over_to_the_watchdog_when_its_patience_runs_out(journal):
    fake = FakeToxiproxy(["db"])
    stack = _toxic_in_place(journal, fake)
    stack.patience = 0.6
    fake.fail(status=503, methods={"DELETE"})
    started = time.monotonic()
    (left,) = stack.roll_back()
    assert 0.6 <= time.monotonic() - started < 2.0
    assert left.fault_id == "f0/0" and stack.pending == [left]
    assert fake.count("DELETE") >= 3  # 0, 0.25, 0.75 (cut to the patience)
    (handed,) = _handed_over(journal)
    assert handed.still_open == ["f0/0"]
    assert handed.reason == "the revert still failed after 0.6s of retries"
    assert fake.toxic_names("db") == ["t1"]  # still in place: the watchdog's now


def test_a_signal_while_retrying_hands_over_at_once_and_is_raised_after(journal):
    fake = FakeToxiproxy(["db"])
    stack = _toxic_in_place(journal, fake)
    fake.fail(status=503, methods={"DELETE"})  # never heals: only the signal ends it
    sent: list[float] = []

    def interrupt() -> None:
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(0.4, interrupt)
    with raise_on_signals():
        with pytest.raises(Interrupted), deferred_signals():  # as the fault loop rolls back
            timer.start()
            left = stack.roll_back()
        returned = time.monotonic()
    timer.cancel()
    assert [h.fault_id for h in left] == ["f0/0"]
    assert sent and returned - sent[0] < 0.5  # not the 30 s of patience
    (handed,) = _handed_over(journal)
    assert handed.reason == "SIGINT while retrying the revert"


def test_a_signal_before_the_rollback_does_not_cut_its_retries_short(journal):
    fake = FakeToxiproxy(["db"])
    stack = _toxic_in_place(journal, fake)
    fake.fail(times=2, status=503, methods={"DELETE"})
    with raise_on_signals(), pytest.raises(Interrupted), deferred_signals():
        os.kill(os.getpid(), signal.SIGINT)  # noted before roll_back starts
        for _ in range(1000):
            pass
        assert stack.roll_back() == []
    assert _handed_over(journal) == [] and fake.toxic_names("db") == []


def test_a_display_that_fails_does_not_stop_the_retries(journal):
    fake = FakeToxiproxy(["db"])
    stack = _toxic_in_place(journal, fake)
    fake.fail(times=2, status=503, methods={"DELETE"})

    def broken(line: str) -> None:
        raise OSError("the terminal went away")

    assert stack.roll_back(broken) == []
    assert fake.toxic_names("db") == []
