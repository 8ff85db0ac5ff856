"""The engine's cleanup on every exit path, against a fake Toxiproxy and a stack of child
processes: whatever happens, a verdict is written, faults come off (or are named as left),
the lock is released, and the watchdog it spawned is gone or still guarding."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import harness.experiment.faultloop as faultloop
import harness.experiment.run as engine
from harness.experiment.judge import judge_during
from harness.experiment.run import Outcome, RunContext, run_experiment
from harness.judging import worst_of
from harness.outcome import Abort, FaultWindow, ProbeEvaluation
from harness.probes.promql import ProbeResult, Status
from harness.procs import ProcessRef, start_time_of
from harness.safety.journal import Journal, still_open
from harness.safety.lock import ActiveRun, read_active, write_active
from harness.safety.recover import recover_stack
from tests.fakes import (
    fake_prometheus,
    fault_env,
)
from tests.unit.engineworld import EXPERIMENT, LINK, World
from tests.unit.engineworld import assert_clean as _assert_clean
from tests.unit.engineworld import assert_finished as _assert_finished
from tests.unit.engineworld import events as _events
from tests.unit.engineworld import names as _names
from tests.waiting import wait_for


def test_a_clean_run_holds_and_leaves_nothing_behind(world):
    ctx = world.ctx()
    outcome = run_experiment(ctx)
    _assert_finished(ctx, outcome, "held", 0)
    _assert_clean(world, ctx)
    assert outcome.reasons == []
    assert world.fake.count("POST", f"/proxies/{LINK}/toxics") == 1
    assert world.fake.count("DELETE", f"/proxies/{LINK}/toxics/") == 1
    names = _names(ctx)
    assert names.index("fault.applying") < names.index("fault.applied")
    assert names.index("watchdog.started") < names.index("fault.applying")
    assert "rollback.complete" in names and "exception" not in names
    (window,) = outcome.fault_windows
    assert window.end is not None and 0.25 <= window.end - window.start < 2


def test_a_watchdog_that_dies_at_start_means_nothing_is_injected(world, monkeypatch):
    broken = (sys.executable, "-c", "import sys; sys.exit('watchdog: broken install')")
    monkeypatch.setattr("harness.experiment.phases.WATCHDOG_COMMAND", broken)
    ctx = world.ctx()
    outcome = run_experiment(ctx)
    _assert_finished(ctx, outcome, "error", 4)
    assert "the watchdog did not start watching" in outcome.reasons[0]
    assert "fault.applying" not in _names(ctx)
    assert world.fake.count("POST", f"/proxies/{LINK}/toxics") == 0
    assert read_active(world.stack.run.root) is None  # no pointer left to a run with no fault


# -- an unexpected exception ----------------------------------------------------------


def test_an_exception_while_the_fault_is_on_is_an_error_and_rolls_back(world, monkeypatch):
    seen: list[list[str]] = []

    def observe(ctx: RunContext, remaining: float, expectations: bool) -> None:
        seen.append(world.fake.all_toxics())
        raise RuntimeError("boom in the fault loop")

    monkeypatch.setattr(faultloop, "_observe", observe)
    ctx = world.ctx()
    outcome = run_experiment(ctx)
    assert seen == [[f"{LINK}/harness-t1-f0-downstream"]]  # the fault was really on
    _assert_finished(ctx, outcome, "error", 4)
    _assert_clean(world, ctx)
    assert outcome.reasons[0] == "unexpected RuntimeError: boom in the fault loop"
    (exc,) = [e for e in _events(ctx) if e["event"] == "exception"]
    assert "Traceback" in exc["traceback"] and "RuntimeError: boom" in exc["traceback"]
    assert "rollback.complete" in _names(ctx)


def test_an_exception_after_the_fault_is_an_error_never_held(world, monkeypatch):
    def judge(ctx: RunContext) -> None:
        raise RuntimeError("boom in a phase")

    monkeypatch.setattr(engine, "judge_during", judge)
    ctx = world.ctx()
    outcome = run_experiment(ctx)
    _assert_finished(ctx, outcome, "error", 4)
    _assert_clean(world, ctx)
    assert "held" not in [e.get("verdict") for e in _events(ctx)]
    assert "exception" in _names(ctx)


# -- a revert that fails --------------------------------------------------------------


def test_a_failed_revert_is_an_error_naming_the_fault_and_keeps_the_watchdog(world, monkeypatch):
    monkeypatch.setattr("harness.safety.rollback.REVERT_PATIENCE", 0.5)  # not 30 s of retries
    world.fake.fail(status=503, methods={"DELETE"})  # until healed
    ctx = world.ctx()
    outcome = run_experiment(ctx)

    _assert_finished(ctx, outcome, "error", 4)
    reason = " ".join(outcome.reasons)
    assert "could not remove 1 fault(s)" in reason
    assert f"latency toxic on {LINK}" in reason and "[t1/f0/0]" in reason
    (failed,) = {e["error"] for e in _events(ctx) if e["event"] == "fault.revert_failed"}
    assert f"[t1/f0/0] ({failed})" in reason  # why it could not be removed: what to check
    assert "`harness recover`" in reason
    names = _names(ctx)
    assert "rollback.incomplete" in names and "rollback.complete" not in names
    (incomplete,) = [e for e in _events(ctx) if e["event"] == "rollback.incomplete"]
    assert incomplete["still_open"] == ["t1/f0/0"]
    assert [f.fault_id for f in still_open(ctx.journal.path)] == ["t1/f0/0"]
    assert world.fake.all_toxics() == [f"{LINK}/harness-t1-f0-downstream"]

    # the stack still points at this run, and its watchdog still guards it
    pointer = read_active(world.stack.run.root)
    assert pointer is not None and pointer.journal == str(ctx.journal.path)
    proc, ref = world.watchdog()
    assert proc.poll() is None
    (started,) = [e for e in _events(ctx) if e["event"] == "watchdog.started"]
    assert started["watchdog_pid"] == pointer.watchdog_pid == ref.pid
    assert pointer.watchdog_start_time == ref.start_time
    after = run_experiment(world.ctx())  # refused until recovered (or the watchdog is done)
    assert after.verdict == "refused"
    assert "`harness recover`" in after.reasons[0] or "(watchdog) holds" in after.reasons[0]

    # the harness handed its rollback over, and the watchdog took it at once
    (handed,) = [e for e in _events(ctx) if e["event"] == "rollback.handed_over"]
    assert handed["still_open"] == ["t1/f0/0"] and "after 0.5s of retries" in handed["reason"]
    assert names.index("rollback.handed_over") < names.index("rollback.incomplete")
    wait_for(lambda: "watchdog.recovering" in _names(ctx), timeout=5, what="the takeover")
    # once Toxiproxy is back the watchdog removes the fault, clears the pointer and leaves
    world.fake.heal()
    wait_for(lambda: world.fake.all_toxics() == [], timeout=5, what="the watchdog to revert")
    wait_for(lambda: proc.poll() is not None, timeout=5, what="the watchdog to exit")
    assert proc.returncode == 0
    assert read_active(world.stack.run.root) is None
    report = recover_stack(world.stack.run.root, fault_env(world.fake.client(), world.stack))
    assert report.journal is None  # nothing left to recover


def test_a_fault_that_fails_to_apply_then_to_revert_says_both(world, monkeypatch):
    """Why the run failed (the injection) is its first reason; the fault it may have left
    behind the next: the rollback's failure must not hide the injection's."""
    monkeypatch.setattr("harness.safety.rollback.REVERT_PATIENCE", 0.5)
    world.fake.fail(status=503, methods={"POST", "DELETE"})
    ctx = world.ctx()
    outcome = run_experiment(ctx)
    _assert_finished(ctx, outcome, "error", 4)
    assert len(outcome.reasons) == 2, outcome.reasons
    assert "503" in outcome.reasons[0] and "could not remove" not in outcome.reasons[0]
    assert outcome.reasons[1].startswith("could not remove 1 fault(s)")
    (verdict,) = [e for e in _events(ctx) if e["event"] == "verdict"]
    assert verdict["reasons"] == outcome.reasons
    proc, _ = world.watchdog()
    world.fake.heal()
    wait_for(lambda: proc.poll() is not None, timeout=10, what="the watchdog to finish")


# -- cleanup steps that fail ----------------------------------------------------------


class StuckLoad:
    def stop(self) -> None:
        raise RuntimeError("the load generator is stuck")


def test_a_failing_stop_load_still_writes_the_verdict_and_releases_the_lock(world):
    ctx = world.ctx()
    ctx.load = StuckLoad()  # type: ignore[assignment]
    outcome = run_experiment(ctx)
    _assert_finished(ctx, outcome, "error", 4)
    _assert_clean(world, ctx)
    assert any("the load generator is stuck" in r for r in outcome.reasons)
    assert any(r.startswith("stopping the load failed") for r in outcome.reasons)


# -- signals --------------------------------------------------------------------------


def test_sigint_during_recovery_ends_the_run_interrupted_at_once(world, monkeypatch):
    sent: list[float] = []

    def await_recovery(ctx: RunContext) -> float | None:
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the signal must cut this short
        return 0.0

    monkeypatch.setattr(engine, "await_recovery", await_recovery)
    ctx = world.ctx()
    outcome = run_experiment(ctx)
    returned = time.monotonic()
    assert sent and returned - sent[0] < 2
    _assert_finished(ctx, outcome, "interrupted", 4)
    _assert_clean(world, ctx)
    assert outcome.reasons == ["interrupted by SIGINT; every fault was rolled back"]


def test_sigterm_while_the_fault_is_on_rolls_back_and_is_interrupted(world, monkeypatch):
    real_observe = faultloop._observe
    seen: list[list[str]] = []

    def observe(ctx: RunContext, remaining: float, expectations: bool) -> None:
        if not seen:
            seen.append(world.fake.all_toxics())
            os.kill(os.getpid(), signal.SIGTERM)
        real_observe(ctx, remaining, expectations)

    monkeypatch.setattr(faultloop, "_observe", observe)
    ctx = world.ctx(faults=[{**EXPERIMENT["faults"][0], "duration": 3}])
    started = time.monotonic()
    outcome = run_experiment(ctx)
    assert time.monotonic() - started < 2.5  # not the 3 s of the fault
    assert seen == [[f"{LINK}/harness-t1-f0-downstream"]]
    _assert_finished(ctx, outcome, "interrupted", 4)
    _assert_clean(world, ctx)
    assert outcome.reasons == ["interrupted by SIGTERM; every fault was rolled back"]


def test_a_second_sigint_while_the_first_is_handled_stays_interrupted(world, monkeypatch):
    real_what_is_left = engine._what_is_left

    def await_recovery(ctx: RunContext) -> float | None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
        return 0.0

    def what_is_left(ctx: RunContext) -> str:  # Ctrl-C pressed twice: the second lands here
        os.kill(os.getpid(), signal.SIGINT)
        return real_what_is_left(ctx)

    monkeypatch.setattr(engine, "await_recovery", await_recovery)
    monkeypatch.setattr(engine, "_what_is_left", what_is_left)
    ctx = world.ctx()
    try:
        outcome = run_experiment(ctx)  # documented: never raises for a signal
    finally:
        _assert_clean(world, ctx)  # the faults and the lock are safe either way
    _assert_finished(ctx, outcome, "interrupted", 4)


class SignalAfter(Journal):
    """A journal that sends SIGINT to this process right after writing `event`."""

    def __init__(self, path: Path, by: str, event: str) -> None:
        super().__init__(path, by)
        self.event = event

    def record(self, event: str, durable: bool = True, **fields: Any) -> dict[str, Any]:
        entry = super().record(event, durable, **fields)
        if event == self.event:
            os.kill(os.getpid(), signal.SIGINT)
        return entry


def test_a_signal_while_the_watchdog_starts_leaves_no_watchdog(world):
    ctx = world.ctx()
    ctx.journal = SignalAfter(ctx.journal.path, "harness", "watchdog.started")
    outcome = run_experiment(ctx)
    _assert_finished(ctx, outcome, "interrupted", 4)
    (started,) = [e for e in _events(ctx) if e["event"] == "watchdog.started"]
    assert read_active(world.stack.run.root) is None
    assert start_time_of(started["watchdog_pid"]) is None  # exited and reaped


# -- aborts ---------------------------------------------------------------------------


def test_a_control_plane_that_stops_answering_mid_fault_aborts_the_run(world):
    """What runs the stack (and reverts its faults: a cluster's API server) going dark
    is an abort, never a run that holds while nothing could be reverted."""
    ctx = world.ctx(faults=[{**EXPERIMENT["faults"][0], "duration": 3}])
    runtime = ctx.env.runtime
    asked: list[bool] = []

    def alive() -> bool:  # up for preflight and the fault's first guard, then dark
        asked.append(len(asked) < 2)
        return asked[-1]

    runtime.control_plane_alive = alive  # type: ignore[method-assign]
    outcome = run_experiment(ctx)
    _assert_finished(ctx, outcome, "aborted", 2)
    _assert_clean(world, ctx)
    assert outcome.reasons == ["the local control plane stopped answering during the fault"]
    assert outcome.figures.detection_seconds is None
    assert world.fake.count("DELETE", f"/proxies/{LINK}/toxics/") == 1  # rolled back


def test_a_watchdog_taking_over_aborts_the_run(world, monkeypatch):
    real_observe = faultloop._observe

    def observe(ctx: RunContext, remaining: float, expectations: bool) -> None:
        if "watchdog.recovering" not in _names(ctx):  # as if the harness had looked dead
            Journal(ctx.journal.path, "watchdog").record("watchdog.recovering", reason="stale")
        real_observe(ctx, remaining, expectations)

    monkeypatch.setattr(faultloop, "_observe", observe)
    ctx = world.ctx(faults=[{**EXPERIMENT["faults"][0], "duration": 3}])
    outcome = run_experiment(ctx)
    _assert_finished(ctx, outcome, "aborted", 2)
    _assert_clean(world, ctx)
    assert outcome.reasons == ["the watchdog took over: stale"]
    assert world.fake.count("POST", f"/proxies/{LINK}/toxics") == 1  # no injection after it
    assert outcome.figures.detection_seconds is None  # no guardrail breached: no such figure


def test_not_steady_before_injects_nothing(world):
    ctx = world.ctx(prom=fake_prometheus(value=lambda: 0.0))
    outcome = run_experiment(ctx)
    _assert_finished(ctx, outcome, "not steady", 1)
    assert world.watchdogs == [] and "fault.applying" not in _names(ctx)
    assert [m for m, _ in world.fake.calls if m != "GET"] == []
    assert outcome.reasons == ["not steady before the fault: up: 0 >= 1 -> fail"]


def test_prometheus_going_dark_aborts_and_rolls_back(world):
    ready = iter([True] * 3)  # preflight, then the first guard tick; then dark
    ctx = world.ctx(prom=fake_prometheus(ready=lambda: next(ready, False)))
    outcome = run_experiment(ctx)
    _assert_finished(ctx, outcome, "aborted", 2)
    _assert_clean(world, ctx)
    assert "Prometheus" in outcome.reasons[0] and "unreachable" in outcome.reasons[0]
    names = _names(ctx)
    assert names.index("abort") < names.index("rollback.complete")


# -- refusals -------------------------------------------------------------------------


def test_a_held_lock_refuses_the_run_before_anything_is_injected(world):
    holder = world.children.hold_lock(world.stack.run.root, role="harness run")
    ctx = world.ctx()
    outcome = run_experiment(ctx)
    assert f"pid {holder.pid} (harness run)" in outcome.reasons[0]
    world.children.kill_and_reap(holder)
    _assert_refused(world, ctx, outcome)


def test_an_unrecovered_run_refuses_and_keeps_its_pointer(world):
    old = Journal.create(world.tmp / "old.jsonl", "harness", run_id="old")
    old.record("fault.applying", fault_id="old/f0/0", action={"kind": "proxy_disabled"})
    me = ProcessRef.of(os.getpid())
    pointer = ActiveRun(str(old.path), me.pid, me.start_time, str(world.tmp / "hb"))
    write_active(world.stack.run.root, pointer)
    ctx = world.ctx()
    outcome = run_experiment(ctx)
    _assert_refused(world, ctx, outcome)
    assert "`harness recover`" in outcome.reasons[0]
    assert read_active(world.stack.run.root) == pointer


def _assert_refused(world: World, ctx: RunContext, outcome: Outcome) -> None:
    _assert_finished(ctx, outcome, "refused", 3)
    assert world.watchdogs == []
    assert "fault.applying" not in _names(ctx)
    assert [m for m, _ in world.fake.calls if m != "GET"] == []


# -- judging the expectations during the fault ----------------------------------------


def _probe(
    t: float,
    value: float | None,
    status: Status,
    phase: str = "during",
    name: str = "availability",
    op: str = ">=",
    threshold: float = 0.99,
) -> ProbeEvaluation:
    return ProbeEvaluation(phase, ProbeResult(name, "avail", op, threshold, value, t, status))


def _judged(probes: list[ProbeEvaluation], windows: list[FaultWindow]) -> Outcome:
    outcome = Outcome(probes=probes, fault_windows=windows)
    judge_during(_judging(outcome))
    return outcome


def _judging(outcome: Outcome) -> Any:
    """What judge_during reads of a RunContext: the outcome, and the experiment's during
    probes (here none declared: only those evaluated are judged)."""
    exp = SimpleNamespace(during_probes=lambda evaluation: ())
    return SimpleNamespace(outcome=outcome, exp=exp, evaluation=1.0)


WINDOW = [FaultWindow(0, "latency", ("api-1",), 1000.0, 1010.0)]


def test_judge_names_the_worst_value_inside_the_window_only():
    outcome = _judged(
        [
            _probe(995.0, 0.05, "fail"),  # before the fault: ignored
            _probe(1001.0, 0.95, "fail"),
            _probe(1004.0, 0.90, "fail"),
            _probe(1006.0, 0.999, "pass"),
            _probe(1005.0, 0.01, "fail", phase="guardrail", name="errors"),  # not an expectation
            _probe(1020.0, 0.10, "fail"),  # after the fault: ignored
        ],
        WINDOW,
    )
    assert outcome.verdict == "deviated"
    (reason,) = outcome.reasons
    assert reason.startswith("expectation availability did not hold during the fault: worst 0.9 ")
    assert "(needs >= 0.99)" in reason
    assert "2 of 3 evaluations in the fault window failed" in reason
    assert "0.05" not in reason and "0.1 " not in reason


def test_judge_counts_no_data_as_a_failure():
    outcome = _judged([_probe(1001.0, None, "no data"), _probe(1002.0, None, "error")], WINDOW)
    assert outcome.verdict == "deviated"
    assert outcome.reasons == [
        "expectation availability had no data during the fault "
        "(2 of 2 evaluations in the fault window failed, 2 with no data)"
    ]
    mixed = _judged([_probe(1001.0, 1.0, "pass"), _probe(1002.0, None, "no data")], WINDOW)
    assert mixed.verdict == "deviated"
    assert "1 of 2 evaluations in the fault window failed, 1 with no data" in mixed.reasons[0]


def test_judge_does_not_call_a_passing_value_the_worst():
    outcome = _judged([_probe(1001.0, 1.0, "pass"), _probe(1002.0, None, "no data")], WINDOW)
    (reason,) = outcome.reasons
    assert "worst 1 " not in reason  # 1 >= 0.99 held: it is not why the expectation failed


def test_judge_passes_what_held_inside_the_window_and_skips_aborted_runs():
    assert (
        _judged([_probe(1001.0, 1.0, "pass"), _probe(1020.0, 0.1, "fail")], WINDOW).verdict is None
    )
    open_window = [FaultWindow(0, "latency", ("api-1",), 1000.0)]  # not ended: open to the right
    assert _judged([_probe(5000.0, 0.1, "fail")], open_window).verdict == "deviated"
    aborted = Outcome(probes=[_probe(1001.0, 0.1, "fail")], fault_windows=WINDOW)
    aborted.abort = Abort(1001.0, "guardrail")
    judge_during(_judging(aborted))
    assert aborted.verdict is None


def test_worst_of_follows_the_direction_of_the_threshold():
    def values(op: str, *vs: float) -> float:
        worst = worst_of(
            [_probe(1001.0 + i, v, "fail", op=op, threshold=1.0).result for i, v in enumerate(vs)]
        )
        assert worst is not None and worst.value is not None
        return worst.value

    assert values(">=", 0.9, 0.5, 0.7) == 0.5
    assert values("<", 2.0, 5.0, 3.0) == 5.0
    assert values("==", 1.5, -3.0, 0.8) == -3.0
    assert worst_of([_probe(1001.0, None, "no data").result]) is None
