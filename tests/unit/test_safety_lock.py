"""The experiment lock (one run per stack, freed by the kernel when its holder dies) and
the pointer that refuses a new run while a dead one's faults may still be in place."""

from __future__ import annotations

import os
import re
import signal

import pytest

from harness.errors import Refused
from harness.safety.journal import Journal
from harness.safety.lock import (
    ActiveRun,
    RunLock,
    clear_active,
    describe_holder,
    read_active,
    refuse_if_unrecovered,
    write_active,
)
from tests.waiting import wait_for


def test_a_second_acquire_is_refused_naming_the_holder(tmp_path):
    first = RunLock(tmp_path, role="harness run")
    first.acquire()
    try:
        with pytest.raises(Refused, match=rf"pid {os.getpid()} \(harness run\) holds"):
            RunLock(tmp_path, role="harness recover").acquire()
    finally:
        first.release()
    assert not first.held


def test_a_released_lock_can_be_taken_again(tmp_path):
    with RunLock(tmp_path) as lock:
        assert lock.held
    with RunLock(tmp_path, role="watchdog") as again:
        assert again.held
        assert (tmp_path / "experiment.lock").read_text() == f"{os.getpid()} watchdog"


def test_a_holder_in_another_process_is_named(tmp_path, children):
    holder = children.hold_lock(tmp_path, role="harness recover")
    with pytest.raises(Refused) as exc:
        RunLock(tmp_path).acquire()
    assert f"pid {holder.pid} (harness recover)" in str(exc.value)


def test_the_lock_of_a_killed_holder_is_free(tmp_path, children):
    holder = children.hold_lock(tmp_path)
    with pytest.raises(Refused):
        RunLock(tmp_path).acquire()
    os.kill(holder.pid, signal.SIGKILL)  # not reaped yet: the kernel frees the flock anyway
    lock = RunLock(tmp_path)
    wait_for(lambda: _try(lock), timeout=5, what="the killed holder's lock to be free")
    assert lock.held
    lock.release()


def _try(lock: RunLock) -> bool:
    try:
        lock.acquire()
    except Refused:
        return False
    return True


def test_a_stopped_holder_is_described_as_stopped(children):
    ref = children.start()
    os.kill(ref.pid, signal.SIGSTOP)
    wait_for(ref.stopped, timeout=5, what="the child to be stopped")
    text = describe_holder(f"{ref.pid} harness run")
    assert text.startswith(f"pid {ref.pid} (harness run")
    assert "stopped" in text and "SIGCONT" in text


def test_a_running_holder_is_not_described_as_stopped(children):
    ref = children.start()
    assert describe_holder(f"{ref.pid} watchdog") == f"pid {ref.pid} (watchdog)"


def test_an_unreadable_holder_is_another_process():
    assert describe_holder("") == "another process"
    assert describe_holder("garbage") == "another process"


def test_a_refusal_says_the_holder_is_stopped(tmp_path, children):
    holder = children.hold_lock(tmp_path)
    os.kill(holder.pid, signal.SIGSTOP)
    wait_for(holder.stopped, timeout=5, what="the lock holder to be stopped")
    with pytest.raises(Refused, match=rf"pid {holder.pid} \(harness run, stopped"):
        RunLock(tmp_path).acquire()


def _pointer(tmp_path, journal_path) -> ActiveRun:
    return ActiveRun(str(journal_path), os.getpid(), 1, str(tmp_path / "heartbeat"))


def test_a_journal_with_an_open_fault_refuses_a_new_run(tmp_path):
    path = tmp_path / "run" / "journal.jsonl"
    path.parent.mkdir()
    journal = Journal.create(path, "harness")
    journal.record("fault.applying", fault_id="r/f0/0", action={"kind": "toxic"})
    write_active(tmp_path, _pointer(tmp_path, path))
    with pytest.raises(Refused) as exc:
        refuse_if_unrecovered(tmp_path)
    assert "`harness recover`" in str(exc.value)
    assert re.search(r"\b1 fault", str(exc.value))
    assert str(path) in str(exc.value)
    assert read_active(tmp_path) is not None  # kept for `harness recover`


def test_a_journal_with_nothing_open_clears_the_pointer(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal.create(path, "harness")
    journal.record("fault.applying", fault_id="r/f0/0", action={"kind": "toxic"})
    journal.record("fault.removed", fault_id="r/f0/0")
    write_active(tmp_path, _pointer(tmp_path, path))
    refuse_if_unrecovered(tmp_path)
    assert read_active(tmp_path) is None
    assert not (tmp_path / "active-run.json").exists()


def test_no_pointer_is_nothing_to_refuse(tmp_path):
    refuse_if_unrecovered(tmp_path)
    assert read_active(tmp_path) is None


def test_the_pointer_round_trips_and_leaves_no_tmp(tmp_path):
    active = ActiveRun("j", 1, 2, "hb", watchdog_pid=3, watchdog_start_time=4)
    write_active(tmp_path, active)
    assert read_active(tmp_path) == active
    assert os.listdir(tmp_path) == ["active-run.json"]
    clear_active(tmp_path)
    clear_active(tmp_path)  # twice is fine
    assert read_active(tmp_path) is None
