"""Recovery from a journal: what a dead run left is reverted newest first, each attempt is
journaled, a failed revert stays open, and the stack's pointer goes only when all is done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from harness.errors import Refused
from harness.faults import Action
from harness.faults.network import DisableProxy, ToxicOn
from harness.faults.process import Signal
from harness.procs import ProcessRef
from harness.runtime import runtime_for
from harness.runtime.local.runtime import identity_of
from harness.runtime.local.state import write_state
from harness.safety.journal import Journal, read_events, rendered_path, still_open
from harness.safety.lock import ActiveRun, RunLock, read_active, write_active
from harness.safety.recover import (
    journaled_runtime,
    recover_journal,
    recover_stack,
    runtime_to_recover,
)
from tests.fakeruntime import FakeRuntime
from tests.fakes import FakeStack, fault_env
from tests.waiting import wait_for

LINK = "gateway_catalog-1"
DB_LINK = "orders-1_postgres"


@pytest.fixture
def env(fake, stack):
    return fault_env(fake.client(), stack, restart_timeout=0.3)


def _toxic(name: str = "harness-r1-f0-downstream") -> ToxicOn:
    return ToxicOn(LINK, name, "latency", "downstream", 1.0, {"latency": 500, "jitter": 0})


def _left_behind(tmp_path, env, stack, children) -> tuple[Journal, list[tuple[str, Action]]]:
    """A journal as a killed run leaves it: three faults applied, one already removed."""
    journal = Journal.create(tmp_path / "run" / "journal.jsonl", "harness", run_id="r1")
    paused = stack.replicas["catalog-2"]
    actions: list[tuple[str, Action]] = [
        ("r1/f0/0", _toxic()),
        ("r1/f1/0", DisableProxy(DB_LINK)),
        ("r1/f2/0", Signal("catalog-2", "catalog", identity_of(paused.pid, paused.start_time), "SIGSTOP")),
    ]
    gone = ToxicOn(LINK, "harness-r1-gone", "latency", "upstream", 1.0, {"latency": 1})
    journal.record("fault.applying", fault_id="r1/f9/0", action=gone.to_json())
    journal.record("fault.removed", fault_id="r1/f9/0")
    for fault_id, action in actions:
        journal.record("fault.applying", fault_id=fault_id, action=action.to_json())
        action.apply(env)
        journal.record("fault.applied", fault_id=fault_id)
    wait_for(paused.stopped, timeout=5, what="catalog-2 to be paused")
    return journal, actions


@pytest.fixture
def run_dir(tmp_path):
    path = tmp_path / "run"
    path.mkdir()
    return path


def test_recover_reverts_what_is_open_newest_first(tmp_path, run_dir, env, fake, stack, children):
    journal, actions = _left_behind(tmp_path, env, stack, children)
    assert fake.toxic_names(LINK) == ["harness-r1-f0-downstream"]
    assert fake.disabled() == [DB_LINK]
    fake.calls.clear()

    report = recover_journal(journal.path, env, "harness recover")

    assert report.ok and report.failed == []
    assert report.reverted == [a.describe() for _, a in reversed(actions)]
    assert fake.all_toxics() == [] and fake.disabled() == []
    assert fake.calls == [  # newest first; nothing for the fault already removed
        ("PATCH", f"/proxies/{DB_LINK}"),
        ("DELETE", f"/proxies/{LINK}/toxics/harness-r1-f0-downstream"),
    ]
    paused = stack.replicas["catalog-2"]
    wait_for(lambda: not paused.stopped(), timeout=5, what="catalog-2 to be continued")
    events = read_events(journal.path)
    removed = [e for e in events if e["event"] == "fault.removed" and e["by"] == "harness recover"]
    assert [e["fault_id"] for e in removed] == ["r1/f2/0", "r1/f1/0", "r1/f0/0"]
    assert all(e["pid"] == os.getpid() for e in removed)
    assert events[-1]["event"] == "recovered"
    assert (events[-1]["reverted"], events[-1]["failed"]) == (3, 0)
    assert still_open(journal.path) == []
    doc = rendered_path(journal.path).read_text()
    assert '"open_faults": []' in doc and '"run_id": "r1"' in doc


def test_a_failing_toxiproxy_keeps_the_faults_open(tmp_path, run_dir, env, fake, stack, children):
    journal, actions = _left_behind(tmp_path, env, stack, children)
    fake.fail(status=503)  # until healed

    report = recover_journal(journal.path, env, "harness recover")

    assert not report.ok
    assert len(report.failed) == 2 and "503" in report.failed[0]
    assert report.reverted == [actions[2][1].describe()]  # the pause was still undone
    failed = [e for e in read_events(journal.path) if e["event"] == "fault.revert_failed"]
    assert [e["fault_id"] for e in failed] == ["r1/f1/0", "r1/f0/0"]
    assert all(e["by"] == "harness recover" and "503" in e["error"] for e in failed)
    assert [f.fault_id for f in still_open(journal.path)] == ["r1/f0/0", "r1/f1/0"]
    assert fake.toxic_names(LINK) == ["harness-r1-f0-downstream"]
    assert read_events(journal.path)[-1]["failed"] == 2
    assert (
        '"open_faults": [\n  "r1/f0/0",\n  "r1/f1/0"\n ]' in rendered_path(journal.path).read_text()
    )

    fake.heal()  # the next attempt tries them again
    assert recover_journal(journal.path, env, "harness recover").ok
    assert still_open(journal.path) == []
    assert fake.all_toxics() == [] and fake.disabled() == []


def test_an_unreachable_toxiproxy_is_a_failed_revert(tmp_path, env, fake):
    journal = Journal.create(tmp_path / "journal.jsonl", "harness")
    toxic = _toxic()
    journal.record("fault.applying", fault_id="f0", action=toxic.to_json())
    toxic.apply(env)
    fake.refuse()
    report = recover_journal(journal.path, env, "watchdog")
    assert not report.ok and "did not answer" in report.failed[0]
    assert [f.fault_id for f in still_open(journal.path)] == ["f0"]


def test_a_toxic_that_is_already_gone_counts_as_removed(tmp_path, env, fake):
    journal = Journal.create(tmp_path / "journal.jsonl", "harness")
    journal.record("fault.applying", fault_id="f0", action=_toxic().to_json())  # never applied
    report = recover_journal(journal.path, env, "harness recover")
    assert report.ok and fake.count("DELETE") == 1
    assert still_open(journal.path) == []


def test_a_failed_delete_is_not_mistaken_for_a_missing_toxic(tmp_path, env, fake):
    journal = Journal.create(tmp_path / "journal.jsonl", "harness")
    toxic = _toxic("harness-20250404T120000-ab12-f0-downstream")  # run ids are dated
    journal.record("fault.applying", fault_id="f0", action=toxic.to_json())
    toxic.apply(env)
    fake.fail(status=503, methods={"DELETE"})
    report = recover_journal(journal.path, env, "harness recover")
    assert fake.toxic_names(LINK) == [toxic.name]  # the toxic is still in place...
    assert not report.ok  # ...so the recovery must not say it removed it
    assert [f.fault_id for f in still_open(journal.path)] == ["f0"]


def test_a_kill_is_reverted_once_the_supervisor_restarted_the_replica(
    tmp_path, env, stack, children
):
    victim = stack.replicas["orders-1"]
    journal = Journal.create(tmp_path / "journal.jsonl", "harness")
    kill = Signal("orders-1", "orders", identity_of(victim.pid, victim.start_time), "SIGKILL")
    journal.record("fault.applying", fault_id="f0", action=kill.to_json())
    kill.apply(env)
    wait_for(lambda: not victim.alive(), timeout=5, what="orders-1 to die")

    report = recover_journal(journal.path, env, "harness recover")  # no restart yet
    assert not report.ok and "not restarted" in report.failed[0]

    _restart(stack, "orders-1", children.start())
    assert recover_journal(journal.path, env, "harness recover").ok
    assert still_open(journal.path) == []


def _restart(stack: FakeStack, name: str, ref: ProcessRef) -> None:
    state = stack.state()
    comp = state.component(name)
    comp.pid, comp.start_time, comp.restarts = ref.pid, ref.start_time, comp.restarts + 1
    write_state(stack.run.state_file, state)


def _point_at(stack: FakeStack, journal: Journal) -> None:
    me = ProcessRef.of(os.getpid())
    pointer = ActiveRun(str(journal.path), me.pid, me.start_time, str(journal.path.parent / "hb"))
    write_active(stack.run.root, pointer)


def _one_toxic_left(tmp_path, env) -> Journal:
    journal = Journal.create(tmp_path / "journal.jsonl", "harness")
    toxic = _toxic()
    journal.record("fault.applying", fault_id="f0", action=toxic.to_json())
    toxic.apply(env)
    return journal


def test_recover_stack_refuses_while_another_process_holds_the_lock(
    tmp_path, env, fake, stack, children
):
    journal = _one_toxic_left(tmp_path, env)
    _point_at(stack, journal)
    holder = children.hold_lock(stack.run.root, role="harness run")
    fake.calls.clear()
    with pytest.raises(Refused) as exc:
        recover_stack(stack.run.root, env)
    assert f"pid {holder.pid} (harness run)" in str(exc.value)
    assert "only undoes what a dead run left" in str(exc.value)
    assert fake.calls == [] and fake.toxic_names(LINK) == [_toxic().name]
    assert read_active(stack.run.root) is not None

    report = recover_stack(stack.run.root, env, lock=False)  # the watchdog's way
    assert report.ok and report.journal == str(journal.path)
    assert fake.all_toxics() == []
    assert read_active(stack.run.root) is None


def test_recover_stack_keeps_the_pointer_until_everything_is_reverted(tmp_path, env, fake, stack):
    journal = _one_toxic_left(tmp_path, env)
    _point_at(stack, journal)
    fake.fail(status=500)
    report = recover_stack(stack.run.root, env)
    assert not report.ok
    assert read_active(stack.run.root) is not None
    with RunLock(stack.run.root):  # and the lock was released
        pass

    fake.heal()
    assert recover_stack(stack.run.root, env).ok
    assert read_active(stack.run.root) is None
    assert fake.all_toxics() == []


def test_recover_stack_without_a_pointer_does_nothing(env, fake, stack):
    report = recover_stack(stack.run.root, env)
    assert report.ok and report.journal is None and report.reverted == []
    assert fake.calls == []


def test_recover_stack_of_a_vanished_journal_clears_the_pointer(tmp_path, env, stack):
    journal = Journal(tmp_path / "gone" / "journal.jsonl", "harness")
    _point_at(stack, journal)
    assert recover_stack(stack.run.root, env).ok
    assert read_active(stack.run.root) is None


def test_recovered_pause_resumes_the_replica(tmp_path, env, stack):
    paused = stack.replicas["gateway-1"]
    os.kill(paused.pid, signal.SIGSTOP)
    wait_for(paused.stopped, timeout=5, what="gateway-1 to stop")
    journal = Journal.create(tmp_path / "journal.jsonl", "harness")
    action = Signal("gateway-1", "gateway", identity_of(paused.pid, paused.start_time), "SIGSTOP")
    journal.record("fault.applying", fault_id="f0", action=action.to_json())
    started = time.monotonic()
    assert recover_journal(journal.path, env, "harness recover").ok
    assert time.monotonic() - started < 1
    wait_for(lambda: not paused.stopped(), timeout=5, what="gateway-1 to continue")


def test_recover_after_toxiproxy_was_reset_by_hand(tmp_path, run_dir, env, fake, stack, children):
    journal, _ = _left_behind(tmp_path, env, stack, children)
    env.toxiproxy.reset()  # someone cleaned up by hand: nothing is left to remove
    assert fake.all_toxics() == [] and fake.disabled() == []
    report = recover_journal(journal.path, env, "harness recover")
    assert report.ok and len(report.reverted) == 3
    assert still_open(journal.path) == []


# -- which runtime a recovery acts through --------------------------------------------


def test_recovery_acts_through_the_runtime_the_run_journaled(tmp_path, stack):
    ran_on = runtime_for(stack.topo, stack.stack_file, stack.run.root)
    (tmp_path / "run").mkdir()
    journal = Journal.create(
        tmp_path / "run" / "journal.jsonl", "harness", run_id="r1", runtime=ran_on.describe()
    )
    default = FakeRuntime({})
    assert runtime_to_recover(stack.run.root, default) is default  # no run points here
    me = ProcessRef.of(os.getpid())
    write_active(stack.run.root, ActiveRun(str(journal.path), me.pid, me.start_time, ""))
    rebuilt = runtime_to_recover(stack.run.root, default)
    assert rebuilt.describe() == ran_on.describe()


def test_a_journal_that_names_no_runtime_is_recovered_through_the_default(tmp_path):
    journal = Journal.create(tmp_path / "journal.jsonl", "harness", run_id="r1")
    default = FakeRuntime({})
    assert journaled_runtime(journal.path, default) is default


def test_a_chaos_object_in_the_journal_is_read_back_by_a_process_that_never_built_one():
    """The watchdog and `recover` import the safety package only: every action kind a run
    journals (a Chaos Mesh object too) must be known to action_from_json there."""
    journaled = {
        "kind": "chaos_object",
        "api_version": "chaos-mesh.org/v1alpha1",
        "chaos_kind": "PodChaos",
        "namespace": "shop",
        "name": "harness-run-f0-0",
        "manifest": {"kind": "PodChaos", "spec": {"action": "pod-kill"}},
        "killed": [{"service": "orders", "name": "shop/orders-1", "identity": "uid:1"}],
    }
    code = (
        "import json, sys\n"
        "from harness.safety.recover import action_from_json\n"
        "print(action_from_json(json.loads(sys.argv[1])).describe())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(journaled)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "PodChaos shop/harness-run-f0-0 (pod-kill) on no pods"
