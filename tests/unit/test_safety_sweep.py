"""Recovery sweeps the runtime's own fault objects by the run's label: the watchdog and
`recover` delete every object of the run, journaled or not, and retry one that is held."""

from __future__ import annotations

from harness.faults import FaultEnv
from harness.safety.events import EventName, ObjectsSwept, parse_events
from harness.safety.journal import Journal, read_events
from harness.safety.recover import recover_journal
from harness.safety.watchdog import recover_until_done
from tests.fakeruntime import FakeObjects, FakeRuntime


def _run(tmp_path, objects: FakeObjects | None) -> tuple[Journal, FaultEnv]:
    runtime = FakeRuntime({"api-1": "api"})
    runtime.objects = objects
    journal = Journal.create(tmp_path / "journal.jsonl", "harness", run_id="r1")
    return journal, FaultEnv(toxiproxy=None, runtime=runtime)


def _swept(journal: Journal) -> list[ObjectsSwept]:
    return [e for e in parse_events(read_events(journal.path)) if isinstance(e, ObjectsSwept)]


def test_recover_deletes_the_runs_objects_it_never_journaled_and_no_others(tmp_path):
    objects = FakeObjects()
    objects.objects = {"harness-r1-f0-0": "r1", "harness-r1-s2-f0-0": "r1", "other": "r2"}
    journal, env = _run(tmp_path, objects)
    report = recover_journal(journal.path, env, "harness recover")
    assert report.ok
    assert objects.objects == {"other": "r2"}  # another run's object is not ours to delete
    (event,) = _swept(journal)
    assert event.objects == ["FakeChaos harness-r1-f0-0", "FakeChaos harness-r1-s2-f0-0"]
    assert report.reverted == event.objects


def test_a_held_object_fails_the_recovery_and_is_retried_until_gone(tmp_path):
    objects = FakeObjects(stuck=2)
    objects.objects = {"harness-r1-f0-0": "r1"}
    journal, env = _run(tmp_path, objects)
    slept: list[float] = []
    assert recover_until_done(journal.path, env, lambda: True, sleep=slept.append)
    assert objects.objects == {} and objects.sweeps == ["r1", "r1", "r1"]
    assert len(slept) == 2  # backed off twice, then done
    errors = [e.error for e in _swept(journal)]
    assert errors[:2] == ["harness-r1-f0-0 is still there, held by its finalizer"] * 2
    assert errors[2] is None


def test_a_gone_control_plane_stops_the_sweep(tmp_path):
    objects = FakeObjects(stuck=100)
    objects.objects = {"harness-r1-f0-0": "r1"}
    journal, env = _run(tmp_path, objects)
    alive = iter([True, False])
    assert not recover_until_done(journal.path, env, lambda: next(alive), sleep=lambda s: None)
    names = [e["event"] for e in read_events(journal.path)]
    assert names[-1] == EventName.WATCHDOG_STACK_GONE


def test_a_runtime_without_a_fault_engine_is_not_swept(tmp_path):
    journal, env = _run(tmp_path, None)
    assert recover_until_done(journal.path, env, lambda: True, sleep=lambda s: None)
    assert _swept(journal) == []
    assert [e["event"] for e in read_events(journal.path)] == [EventName.RUN_STARTED]
