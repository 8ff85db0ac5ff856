"""The RevertStack: newest first, one group at a time, and a failed revert never forgotten."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from harness.faults import FaultEnv
from harness.faults.network import ToxicOn
from harness.safety.journal import Journal, still_open
from harness.safety.rollback import RevertStack
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
    journal.record("fault.applying", fault_id=fault_id, action=action.to_json())
    stack.push(group, fault_id, action)
    action.apply(stack.env)


def _events(journal: Journal, *names: str) -> list[tuple[str, str]]:
    return [(e["event"], e["fault_id"]) for e in journal.events if e["event"] in names]


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
    assert all("seconds" in e for e in journal.events if e["event"] == "fault.removed")


def test_unwind_of_a_group_touches_only_that_group(journal, env):
    log: list[str] = []
    stack = RevertStack(journal, env)
    for group, name in [(0, "a"), (1, "b"), (0, "c"), (2, "d")]:
        _push(stack, journal, group, Recorded(name, log))
    log.clear()
    assert stack.unwind(group=0) == []
    assert log == ["revert c", "revert a"]
    assert [h.fault_id for h in stack.pending] == ["f1/b", "f2/d"]
    assert [f["fault_id"] for f in still_open(journal.path)] == ["f1/b", "f2/d"]


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
    (event,) = [e for e in journal.events if e["event"] == "fault.revert_failed"]
    assert event["fault_id"] == "f0/b" and "b is stuck" in event["error"]
    assert [f["fault_id"] for f in still_open(journal.path)] == ["f0/b"]
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
