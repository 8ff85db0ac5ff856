"""The schedule loop with a fake clock and a fake runner: slots, skips, stops, history."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness.experiment.runner import RunResult
from harness.outcome import Outcome
from harness.schedule.history import read_entries, read_inflight
from harness.schedule.loop import Clock, Options, Stop, prepare, run_schedule, stop_on_signals
from harness.schedule.spec import load_schedule

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "orders-kill-one.yaml"


class FakeClock(Clock):
    def __init__(self, start: datetime) -> None:
        self.t = start
        self.slept: list[float] = []
        super().__init__(now=lambda: self.t, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += timedelta(seconds=seconds)


def schedule(tmp_path: Path, extra: str = "", cron: str = "*/5 * * * *") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(
        f"""version: harness/v1
kind: schedule
name: t
suite: [{EXPERIMENT}]
cron: "{cron}"
timezone: Europe/Berlin
stack: {ROOT / "stack.yaml"}
{extra}"""
    )
    return path


def runner(verdict: str = "held", calls: list | None = None):
    def run(path, exp):
        (calls if calls is not None else []).append(exp.name)
        outcome = Outcome(verdict=verdict)  # type: ignore[arg-type]
        return RunResult(path, exp.name, outcome, Path("runs/x"), 1.0, exp.designed_verdict)

    return run


def setup_of(path: Path):
    return prepare(load_schedule(path), path)


def test_waits_for_the_next_cron_time_in_bounded_sleeps_then_runs(tmp_path):
    path = schedule(tmp_path, "max_runs: 2\n")
    clock, calls = FakeClock(datetime(2025, 1, 8, 8, 2, 30, tzinfo=UTC)), []
    entries = run_schedule(setup_of(path), runner(calls=calls), Options(), clock, Stop())
    assert [e.slot for e in entries] == ["2025-01-08T09:05:00+01:00", "2025-01-08T09:10:00+01:00"]
    assert calls == ["orders-kill-one", "orders-kill-one"]
    assert max(clock.slept) <= 1.0
    assert [e.decision for e in read_entries(tmp_path / "runs")] == ["ran", "ran"]
    assert read_inflight(tmp_path / "runs") is None


def test_now_runs_at_once_and_once_stops(tmp_path):
    clock = FakeClock(datetime(2025, 1, 8, 8, 2, 30, tzinfo=UTC))
    entries = run_schedule(
        setup_of(schedule(tmp_path)), runner(), Options(once=True, now=True), clock, Stop()
    )
    assert len(entries) == 1 and clock.slept == []
    assert entries[0].slot == "2025-01-08T09:02:30+01:00" and entries[0].exit_code == 0


def test_once_takes_the_cron_time_just_passed(tmp_path):
    clock = FakeClock(datetime(2025, 1, 8, 8, 5, 20, tzinfo=UTC))  # 20 s after 09:05 Berlin
    entries = run_schedule(
        setup_of(schedule(tmp_path)), runner(), Options(once=True), clock, Stop()
    )
    assert entries[0].slot == "2025-01-08T09:05:00+01:00" and clock.slept == []


def test_outside_the_allowed_window_is_recorded_as_skipped(tmp_path):
    path = schedule(tmp_path, 'allowed: {hours: "09:00-17:00"}\n', cron="* * * * *")
    clock, calls = FakeClock(datetime(2025, 1, 8, 20, 0, tzinfo=UTC)), []
    (entry,) = run_schedule(
        setup_of(path), runner(calls=calls), Options(once=True, now=True), clock, Stop()
    )
    assert entry.decision == "skipped" and calls == []
    assert entry.reason.startswith(
        "outside the allowed window (mon,tue,wed,thu,fri,sat,sun 09:00-17:00"
    )


def test_previous_unclean_skips_the_next_slot(tmp_path):
    path = schedule(tmp_path, "max_runs: 2\nskip_when: {previous_unclean: true}\n")
    clock, calls = FakeClock(datetime(2025, 1, 8, 8, 0, 30, tzinfo=UTC)), []
    entries = run_schedule(
        setup_of(path), runner("deviated", calls), Options(now=True), clock, Stop()
    )
    assert [e.decision for e in entries] == ["ran", "skipped"] and len(calls) == 1
    assert entries[0].exit_code == 1
    assert entries[1].reason.startswith("previous run unclean:") and "deviated" in entries[1].reason


def test_a_signal_while_waiting_ends_the_loop_before_the_next_run(tmp_path):
    stop, calls = Stop(), []
    clock = FakeClock(datetime(2025, 1, 8, 8, 0, 30, tzinfo=UTC))

    def sleep(seconds: float) -> None:
        clock.t += timedelta(seconds=seconds)
        stop.signum = signal.SIGTERM  # as the handler would

    clock.sleep = sleep
    entries = run_schedule(
        setup_of(schedule(tmp_path)), runner(calls=calls), Options(now=True), clock, stop
    )
    assert len(entries) == 1 and len(calls) == 1  # the first ran; the wait was cut short


def test_an_interrupted_run_ends_the_loop(tmp_path):
    clock = FakeClock(datetime(2025, 1, 8, 8, 0, 30, tzinfo=UTC))
    entries = run_schedule(
        setup_of(schedule(tmp_path)), runner("interrupted"), Options(now=True), clock, Stop()
    )
    assert len(entries) == 1 and entries[0].exit_code == 4 and not entries[0].clean


def test_stop_on_signals_notes_and_restores(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    stop = Stop()
    with stop_on_signals(stop):
        signal.raise_signal(signal.SIGTERM)
    assert stop.signum == signal.SIGTERM and signal.getsignal(signal.SIGTERM) == before
