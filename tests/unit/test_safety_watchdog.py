"""The watchdog: when to act, how it retries, and (as a real process) taking over a dead run."""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from harness.faults import FaultEnv
from harness.faults.network import ToxicOn
from harness.procs import ProcessRef
from harness.safety.events import EventName, parse_events
from harness.safety.heartbeat import Heartbeat
from harness.safety.journal import Journal, read_events, still_open
from harness.safety.lock import ActiveRun, read_active, write_active
from harness.safety.watchdog import (
    Backoff,
    handed_over,
    recover_through,
    recover_until_done,
    stale_reason,
)
from tests.fakeruntime import ENDPOINTS, FakeRuntime
from tests.fakes import Children, FakeStack, FakeToxiproxy, fault_env, make_stack
from tests.waiting import wait_for

LINK = "gateway_catalog-1"
TOXIC = ToxicOn(LINK, "harness-r1-f0-downstream", "latency", "downstream", 1.0, {"latency": 9})


# -- when to act ----------------------------------------------------------------------


def test_a_live_beating_harness_needs_nothing():
    assert stale_reason(ProcessRef.of(os.getpid()), heartbeat_age=0.1, stale=5) is None


def test_a_dead_harness_is_gone(children):
    ref = children.start()
    children.kill_and_reap(ref)
    assert stale_reason(ref, 0.1, 5) == f"the harness (pid {ref.pid}) is gone"


def test_a_killed_but_unreaped_harness_is_gone(children):
    ref = children.start()
    os.kill(ref.pid, signal.SIGKILL)
    wait_for(lambda: stale_reason(ref, 0.1, 5), timeout=5, what="the zombie to count as gone")
    assert "is gone" in (stale_reason(ref, 0.1, 5) or "")


def test_a_stopped_harness_is_stopped(children):
    ref = children.start()
    os.kill(ref.pid, signal.SIGSTOP)
    wait_for(ref.stopped, timeout=5, what="the child to stop")
    assert stale_reason(ref, 0.1, 5) == f"the harness (pid {ref.pid}) is stopped"


def test_a_silent_heartbeat_is_stale(children):
    ref = children.start()
    assert stale_reason(ref, heartbeat_age=12.34, stale=5) == (
        "no heartbeat for 12.3s (stale after 5s)"
    )
    assert stale_reason(ref, heartbeat_age=4.9, stale=5) is None


def test_the_watchdog_retries_as_the_harness_does():
    backoff = Backoff()  # one policy: a fault is off within a second of Toxiproxy's return
    assert [backoff.next() for _ in range(5)] == [0.25, 0.5, 1.0, 1.0, 1.0]


def test_a_hand_over_in_the_journal_is_a_reason_to_act_now():
    others = [
        {"event": "fault.applying", "fault_id": "r1/f0/0", "action": {}},
        {"event": "fault.revert_failed", "fault_id": "r1/f0/0"},
    ]
    assert handed_over(parse_events(others)) is None
    event = {
        "event": "rollback.handed_over",
        "still_open": ["r1/f0/0"],
        "reason": "SIGINT while retrying",
    }
    assert handed_over(parse_events([others[0], event])) == (
        "the harness handed over its rollback (SIGINT while retrying; open: r1/f0/0)"
    )


# -- retrying -------------------------------------------------------------------------


@pytest.fixture
def env(fake, stack):
    return fault_env(fake.client(), stack)


@pytest.fixture
def journal(tmp_path, env) -> Journal:
    """A dead run's journal with one toxic in place."""
    journal = Journal.create(tmp_path / "journal.jsonl", "harness", run_id="r1")
    journal.record("fault.applying", fault_id="r1/f0/0", action=TOXIC.to_json())
    TOXIC.apply(env)
    return journal


def _trail(journal: Journal) -> list[tuple[str, str]]:
    return [
        (e["event"], e["by"])
        for e in read_events(journal.path)
        if e["event"] in ("fault.removed", "fault.revert_failed")
    ]


def test_it_retries_with_backoff_until_the_revert_succeeds(journal, env, fake):
    fake.fail(times=2, status=503, methods={"DELETE"})
    slept: list[float] = []
    assert recover_until_done(journal.path, env, lambda: True, sleep=slept.append)
    assert slept == [0.25, 0.5]
    assert _trail(journal) == [
        ("fault.revert_failed", "watchdog"),
        ("fault.revert_failed", "watchdog"),
        ("fault.removed", "watchdog"),
    ]
    assert fake.all_toxics() == []
    assert still_open(journal.path) == []


def test_it_stops_when_another_writer_removed_the_fault(journal, env, fake):
    fake.fail(status=503, methods={"DELETE"})  # never heals
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        Journal(journal.path, "harness recover").record("fault.removed", fault_id="r1/f0/0")

    assert recover_until_done(journal.path, env, lambda: True, sleep=sleep)
    assert slept == [0.25]
    assert fake.count("DELETE") == 1


def test_it_gives_up_when_the_stack_is_gone(journal, env, fake):
    fake.fail(status=503)
    slept: list[float] = []
    assert not recover_until_done(journal.path, env, lambda: False, sleep=slept.append)
    assert slept == []
    assert fake.count("DELETE") == 0
    (gone,) = [e for e in read_events(journal.path) if e["event"] == "watchdog.stack_gone"]
    assert gone["open"] == ["r1/f0/0"] and gone["by"] == "watchdog"


def test_the_stack_going_down_between_attempts_stops_the_retries(journal, env, fake):
    fake.fail(status=503)
    alive = iter([True, True, False])
    slept: list[float] = []
    assert not recover_until_done(journal.path, env, lambda: next(alive), sleep=slept.append)
    assert slept == [0.25, 0.5]
    assert fake.count("DELETE") == 2


# -- through the seam: any runtime ----------------------------------------------------


def _dead_run_on(tmp_path, fake: FakeToxiproxy) -> Journal:
    fake.add_proxy(LINK)
    journal = Journal.create(tmp_path / "journal.jsonl", "harness", run_id="r1")
    journal.record("fault.applying", fault_id="r1/f0/0", action=TOXIC.to_json())
    TOXIC.apply(fault_env_of(fake))
    return journal


def fault_env_of(fake: FakeToxiproxy) -> FaultEnv:
    return FaultEnv(toxiproxy=fake.client(), runtime=FakeRuntime({}))


def test_a_runtime_whose_control_plane_answers_gets_its_faults_reverted(tmp_path):
    """No supervisor state file anywhere: only the runtime says whether the stack is up."""
    fake = FakeToxiproxy()
    journal = _dead_run_on(tmp_path, fake)
    with fake.serve() as url:
        runtime = FakeRuntime({}, endpoints=replace(ENDPOINTS, toxiproxy=url))
        assert recover_through(journal.path, runtime)
    assert fake.all_toxics() == []
    assert _trail(journal) == [("fault.removed", "watchdog")]
    assert "watchdog.stack_gone" not in [e["event"] for e in read_events(journal.path)]


def test_a_runtime_whose_control_plane_is_gone_stops_the_watchdog(tmp_path):
    fake = FakeToxiproxy()
    journal = _dead_run_on(tmp_path, fake)
    with fake.serve() as url:
        runtime = FakeRuntime({}, endpoints=replace(ENDPOINTS, toxiproxy=url))
        runtime.stop_control_plane()
        assert not recover_through(journal.path, runtime)
    assert fake.count("DELETE") == 0
    (gone,) = [e for e in read_events(journal.path) if e["event"] == "watchdog.stack_gone"]
    assert gone["open"] == ["r1/f0/0"]


# -- the real process -----------------------------------------------------------------


def _watchdog(children: Children, stack: FakeStack, log) -> ProcessRef:
    argv = (sys.executable, "-m", "harness.safety.watchdog", "--stack", str(stack.stack_file))
    return children.start((*argv, "--run-dir", str(stack.run.root), "--stale", "5"), log=log)


def _exit_code(children: Children, ref: ProcessRef, timeout: float = 10) -> int:
    proc = children.popen(ref)
    wait_for(lambda: proc.poll() is not None, timeout=timeout, what="the watchdog to exit")
    return proc.returncode


def test_the_watchdog_process_exits_when_there_is_no_run(tmp_path, children, stack):
    log = tmp_path / "watchdog.log"
    ref = _watchdog(children, stack, log)
    assert _exit_code(children, ref) == 0
    assert "no active run" in log.read_text()


def test_the_watchdog_process_takes_over_a_killed_run(tmp_path, children):
    fake = FakeToxiproxy()
    with fake.serve() as url:
        stack, journal = _run_with_a_toxic(tmp_path, children, fake, url)
        harness = children.start()  # stands in for the harness process
        heartbeat = tmp_path / "run" / "heartbeat"
        heartbeat.touch()
        write_active(
            stack.run.root,
            ActiveRun(str(journal.path), harness.pid, harness.start_time, str(heartbeat)),
        )
        log = tmp_path / "watchdog.log"
        ref = _watchdog(children, stack, log)
        wait_for(
            lambda: "watching pid" in log.read_text(), timeout=10, what="the watchdog to watch"
        )
        assert fake.all_toxics() == [f"{LINK}/{TOXIC.name}"]

        children.kill_and_reap(harness)  # kill -9 of the harness

        assert _exit_code(children, ref) == 0
    assert fake.all_toxics() == []
    events = [(e["event"], e["by"]) for e in read_events(journal.path)]
    assert ("watchdog.recovering", "watchdog") in events
    assert events[-2:] == [("fault.removed", "watchdog"), ("recovered", "watchdog")]
    recovering = next(e for e in read_events(journal.path) if e["event"] == "watchdog.recovering")
    assert recovering["reason"] == f"the harness (pid {harness.pid}) is gone"
    assert read_active(stack.run.root) is None


def test_the_watchdog_process_leaves_when_the_run_clears_its_pointer(tmp_path, children, stack):
    (tmp_path / "run").mkdir()
    journal = Journal.create(tmp_path / "run" / "journal.jsonl", "harness", run_id="r1")
    me = ProcessRef.of(os.getpid())
    heartbeat = tmp_path / "run" / "heartbeat"
    heartbeat.touch()
    write_active(
        stack.run.root, ActiveRun(str(journal.path), me.pid, me.start_time, str(heartbeat))
    )
    log = tmp_path / "watchdog.log"
    ref = _watchdog(children, stack, log)
    wait_for(lambda: "watching pid" in log.read_text(), timeout=10, what="the watchdog to watch")
    (stack.run.root / "active-run.json").unlink()
    assert _exit_code(children, ref) == 0
    assert "removed its faults" in log.read_text()
    assert [e["event"] for e in read_events(journal.path)] == ["run.started", "watchdog.watching"]


def test_the_watchdog_process_takes_over_at_once_when_the_harness_hands_over(tmp_path, children):
    fake = FakeToxiproxy()
    with fake.serve() as url:
        stack, journal = _run_with_a_toxic(tmp_path, children, fake, url)
        harness = children.start()  # alive, and beating: only the hand-over can wake it
        heartbeat = tmp_path / "run" / "heartbeat"
        with Heartbeat(heartbeat, interval=0.2):
            write_active(
                stack.run.root,
                ActiveRun(str(journal.path), harness.pid, harness.start_time, str(heartbeat)),
            )
            log = tmp_path / "watchdog.log"
            ref = _watchdog(children, stack, log)
            wait_for(
                lambda: "watching pid" in log.read_text(), timeout=10, what="the watchdog to watch"
            )
            handed = time.monotonic()
            journal.record(
                EventName.ROLLBACK_HANDED_OVER,
                still_open=["r1/f0/0"],
                reason="SIGINT while retrying",
            )
            wait_for(lambda: fake.all_toxics() == [], timeout=10, what="the watchdog to revert")
            took = time.monotonic() - handed
            assert _exit_code(children, ref) == 0
    assert took < 4  # well inside the 5 s a silent heartbeat would take
    recovering = next(e for e in read_events(journal.path) if e["event"] == "watchdog.recovering")
    assert recovering["reason"].startswith("the harness handed over its rollback (SIGINT")
    removed = [e["by"] for e in read_events(journal.path) if e["event"] == "fault.removed"]
    assert removed == ["watchdog"]
    assert read_active(stack.run.root) is None


def _run_with_a_toxic(
    tmp_path: Path, children: Children, fake: FakeToxiproxy, url: str
) -> tuple[FakeStack, Journal]:
    """A fake stack on `fake`'s Toxiproxy and a run whose journal has one toxic applied."""
    stack = make_stack(tmp_path / "stack", children, toxiproxy_port=int(url.rsplit(":", 1)[1]))
    for link in stack.topo.links:
        fake.add_proxy(link.name)
    (tmp_path / "run").mkdir()
    journal = Journal.create(tmp_path / "run" / "journal.jsonl", "harness", run_id="r1")
    journal.record("fault.applying", fault_id="r1/f0/0", action=TOXIC.to_json())
    TOXIC.apply(fault_env(fake.client(), stack))
    return stack, journal
