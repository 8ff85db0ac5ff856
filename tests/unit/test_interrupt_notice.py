"""Ctrl-C is answered at once: as soon as the faults are off the run says so, before the
seconds of cleanup, verdict and report that follow."""

from __future__ import annotations

import os
import signal
import time

import harness.experiment.faultloop as faultloop
import harness.experiment.run as engine
from harness.experiment.run import RunContext, run_experiment
from harness.probes.promql import ProbeResult
from harness.safety.journal import read_events
from tests.unit.engineworld import EXPERIMENT, assert_clean, assert_finished


class Watching:
    """A Display that notes, for each phase it is told, what the journal held then."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.told: list[tuple[str, str, list[str], float]] = []

    def phase(self, name: str, detail: str = "") -> None:
        names = [e["event"] for e in read_events(self.ctx.journal.path)]
        self.told.append((name, detail, names, time.monotonic()))

    def tick(self, phase: str, remaining: float | None, results: list[ProbeResult]) -> None:
        return None

    def said(self, name: str) -> tuple[str, list[str], float]:
        (only,) = [(d, n, t) for p, d, n, t in self.told if p == name]
        return only


def test_sigint_mid_fault_says_the_faults_are_off_before_the_cleanup(world, monkeypatch):
    real_observe = faultloop._observe
    sent: list[float] = []

    def observe(ctx: RunContext, remaining: float, expectations: bool) -> None:
        if not sent:
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)
        real_observe(ctx, remaining, expectations)

    monkeypatch.setattr(faultloop, "_observe", observe)
    ctx = world.ctx(faults=[{**EXPERIMENT["faults"][0], "duration": 3}])
    display = ctx.display = Watching(ctx)
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "interrupted", 4)
    assert_clean(world, ctx)
    detail, then, at = display.said("interrupted")
    assert detail == "every fault was rolled back; writing the report…"
    assert "rollback.complete" in then  # said once the faults were off…
    assert "watchdog.released" not in then and "verdict" not in then  # …before the cleanup
    assert at - sent[0] < 1.0


def test_sigint_before_any_fault_says_nothing_was_injected(world, monkeypatch):
    def start_load(ctx: RunContext) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # cut short by the signal

    monkeypatch.setattr(engine, "start_load", start_load)
    ctx = world.ctx()
    display = ctx.display = Watching(ctx)
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "interrupted", 4)
    detail, then, _ = display.said("interrupted")
    assert detail == "nothing was injected; writing the report…"
    assert "verdict" not in then


def test_a_run_that_ends_without_a_signal_says_nothing_of_the_kind(world):
    ctx = world.ctx()
    display = ctx.display = Watching(ctx)
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "held", 0)
    assert "interrupted" not in [p for p, *_ in display.told]


class CtrlCWhileRetrying(Watching):
    """Presses Ctrl-C as soon as the run says it is retrying a revert."""

    def phase(self, name: str, detail: str = "") -> None:
        super().phase(name, detail)
        if name == "rollback":
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_while_a_revert_is_retried_hands_it_over_and_says_so(world):
    world.fake.fail(status=503, methods={"DELETE"})  # Toxiproxy will not let go
    ctx = world.ctx()
    display = ctx.display = CtrlCWhileRetrying(ctx)
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "error", 4)  # a fault may still be in place
    retrying, _, pressed = display.said("rollback")
    assert retrying.startswith("could not remove 1 fault(s); retrying for up to 30s")
    detail, then, at = display.said("interrupted")
    assert detail == "1 fault(s) may still be in place: run `harness recover`; writing the report…"
    assert at - pressed < 1.0  # not the 30 s of patience
    assert "rollback.handed_over" in then and "verdict" not in then
    handed = [e for e in read_events(ctx.journal.path) if e["event"] == "rollback.handed_over"]
    assert handed[0]["reason"] == "SIGINT while retrying the revert"
