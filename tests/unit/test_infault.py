"""What lies inside the fault: a probe's look-back, the stretch of faults an evaluation
falls in, which `during` evaluations are judged, and what the verdict says about them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from harness.experiment.infault import during_evaluation, stretch_start
from harness.judging import during_failures, judged_note
from harness.outcome import FaultWindow, Outcome, ProbeEvaluation
from harness.probes.lookback import range_seconds, settle_of
from harness.probes.promql import ProbeResult, Status
from harness.report.cases import cases_of
from harness.report.rebuild import outcome_from_events
from harness.safety.events import parse_events
from harness.specs.experiment import ClientProbe, Experiment, Probe
from tests.unit.engineworld import EXPERIMENT


def _client(**kw: Any) -> ClientProbe:
    return ClientProbe(
        **{"name": "users", "metric": "error_ratio", "op": "<", "threshold": 0.1, **kw}
    )


def _promql(query: str, **kw: Any) -> Probe:
    return Probe(name="avail", query=query, op=">=", threshold=0.99, **kw)


def test_range_seconds_is_the_furthest_back_a_query_reads():
    assert range_seconds("up") == 0
    assert range_seconds("sum(rate(x[10s])) / sum(rate(x[1m]))") == 60
    assert range_seconds("rate(x[5m] offset 1m)") == 360  # the offset reaches further back
    assert range_seconds("max_over_time(rate(y[5s])[30s:5s])") == 35  # a subquery stacks
    assert range_seconds("not promql((") == 0


def test_the_settle_is_the_window_the_range_plus_a_scrape_or_as_told():
    assert settle_of(_client(window=2), 1.0).seconds == 2
    assert settle_of(_client(window=2), 1.0).basis == "2 s window"
    assert settle_of(_client(window=2), 1.0).why == "window still holds pre-fault requests"
    promql = settle_of(_promql("sum(rate(x[10s]))"), 1.0)
    assert (promql.seconds, promql.basis) == (11, "10 s range + 1 s scrape")
    assert promql.why == "look-back still holds pre-fault samples"
    assert settle_of(_promql("up"), 2.0).seconds == 2  # the newest sample is a scrape old
    told = settle_of(_promql("sum(rate(x[10s]))", settle="3s"), 1.0)
    assert (told.seconds, told.basis) == (3, "settle of 3 s")
    assert settle_of(_client(window=2, settle=0), 1.0).seconds == 0


def _w(start: float, end: float | None) -> FaultWindow:
    return FaultWindow(0, "latency", ("api-1",), start, end)


def test_a_stretch_starts_when_the_faults_in_force_began():
    windows = [_w(10, 20), _w(15, 30), _w(50, None)]
    assert stretch_start(windows, 12) == 10
    assert stretch_start(windows, 25) == 10  # overlapping faults are one stretch
    assert stretch_start(windows, 40) is None  # no fault in force
    assert stretch_start(windows, 5) is None
    assert stretch_start(windows, 999) == 50  # an open window extends to the right
    back_to_back = [_w(0, 20.0), _w(20.004, 40)]  # one loop iteration apart
    assert stretch_start(back_to_back, 30, gap=0.25) == 0
    assert stretch_start(back_to_back, 30) == 20.004  # no gap allowed: a new stretch


def _result(t: float, value: float | None = 1.0, status: Status = "pass") -> ProbeResult:
    return ProbeResult("avail", "q", ">=", 0.99, value, t, status)


def _ctx(*during: Any, windows: list[FaultWindow]) -> Any:
    fault = {**EXPERIMENT["faults"][0], "duration": 10}
    exp = Experiment.model_validate(
        {
            **EXPERIMENT,
            "faults": [fault],
            "blast_radius": {"max_duration": 20},
            "expectations": {"during": list(during)},
        }
    )
    return SimpleNamespace(exp=exp, outcome=Outcome(fault_windows=windows), evaluation=1.0)


def test_a_during_evaluation_is_judged_once_its_look_back_lies_inside_the_fault():
    probe = {"name": "avail", "query": "sum(rate(x[5s]))", "op": ">=", "threshold": 0.99}
    ctx = _ctx(probe, windows=[_w(100, None)])
    (declared,) = ctx.exp.expectations.during
    early = during_evaluation(ctx, declared, _result(105.5))
    assert (early.judged, early.why) == (False, "look-back still holds pre-fault samples")
    assert (early.settle, early.basis) == (6, "5 s range + 1 s scrape")
    assert during_evaluation(ctx, declared, _result(106.0)).judged  # from +6 s
    assert not during_evaluation(ctx, declared, _result(99.0)).judged  # before any fault


def test_whole_run_no_alerts_are_judged_from_the_first_evaluation():
    ctx = _ctx(windows=[_w(100, None)])
    quiet = Probe(name="no-page", query="count(count_over_time(ALERTS[1m]))", op="==", threshold=0)
    assert during_evaluation(ctx, quiet, _result(100.1)).judged


def _e(t: float, judged: bool, value: float = 1.0, status: Status = "pass") -> ProbeEvaluation:
    why = "" if judged else "window still holds pre-fault requests"
    return ProbeEvaluation("during", _result(t, value, status), judged, why, 2.0, "2 s window")


WINDOW = [_w(1000, 1010)]


def test_only_judged_evaluations_decide_and_the_verdict_says_how_many():
    evals = [_e(1000.5, False, 0.5, "fail"), _e(1001.5, False, 0.6, "fail")]
    evals += [_e(1002 + i, True) for i in range(3)] + [_e(1006, True, 0.9, "fail")]
    outcome = Outcome(probes=evals, fault_windows=WINDOW)
    (reason,) = during_failures(outcome, WINDOW)
    assert "worst 0.9 " in reason and "0.5" not in reason  # pre-fault values are never worst
    assert "1 of 4 evaluations in the fault window failed" in reason
    assert reason.endswith(
        "judged 4 of 6 evaluations, those whose 2 s window lay inside the fault (from +2 s)"
    )
    held = Outcome(probes=evals[:-1], fault_windows=WINDOW)
    assert during_failures(held, WINDOW) == []  # the early failures were not judged
    assert outcome.evaluations("during") == [e.result for e in evals if e.judged]


def test_no_evaluation_inside_the_fault_never_passes():
    only_early = Outcome(probes=[_e(1000.5, False), _e(1001.5, False)], fault_windows=WINDOW)
    assert during_failures(only_early, WINDOW) == [
        "expectation avail: no evaluation inside the fault (none of its 2 evaluations was "
        "judged: it judges those whose 2 s window lay inside the fault (from +2 s))"
    ]
    never = during_failures(Outcome(fault_windows=WINDOW), WINDOW, expected=["avail"])
    assert never == [
        "expectation avail: no evaluation inside the fault (never evaluated while a fault "
        "was in force)"
    ]


def test_the_note_is_empty_when_every_evaluation_was_judged():
    assert judged_note([_e(1003, True), _e(1004, True)]) == ""
    assert judged_note([_e(1000.5, False), _e(1004, True)]).startswith("judged 1 of 2 ")


@pytest.mark.parametrize("phase", ["guardrail", "before"])
def test_other_phases_are_never_judged_as_expectations(phase: str):
    other = ProbeEvaluation(phase, _result(1003, 0.1, "fail"))
    assert during_failures(Outcome(probes=[other], fault_windows=WINDOW), WINDOW) == []


# -- the report and JUnit say the same ---------------------------------------------------


def test_cases_judge_what_the_verdict_judged_and_say_how_many():
    pending = ProbeResult("users", "client", "<", 0.1, None, 1000.1, "pending")
    evals = [
        _e(1000.5, False, 0.5, "fail"),
        _e(1003, True),
        ProbeEvaluation("guardrail", pending, False, "no request sent since the fault began"),
    ]
    outcome = Outcome(probes=evals, fault_windows=WINDOW)
    outcome.figures.record_recovery(3.006)
    outcome.figures.first_success_seconds = 0.041
    by_name = {c.name: c for c in cases_of(outcome, "exp")}
    during = by_name["avail"]
    assert during.ok and during.message.endswith(
        "; judged 1 of 2 evaluations, those whose 2 s window lay inside the fault (from +2 s)"
    )
    assert "0 of 1 evaluations failed" in during.message
    guard = by_name["users"]  # pending throughout: nothing to stop, nothing judged
    assert guard.skipped and guard.ok
    recovery = by_name["steady state returns"]
    assert recovery.message == (
        "steady state confirmed by the probes 3.006 s after the rollback; the first "
        "successful request sent after it answered 0.041 s after it"
    )
    nothing = cases_of(Outcome(probes=evals[:1], fault_windows=WINDOW), "exp")
    (case,) = nothing
    assert not case.ok and case.message.startswith("no evaluation inside the fault: judged 0 of 1")


def test_a_rebuilt_report_keeps_what_was_not_judged_and_why():
    early = _e(1000.5, False, 0.5, "fail")
    event = {"event": "probe", "phase": "during", **early.result.to_json(), **early.marks()}
    plain = {"event": "probe", "phase": "before", **_result(990).to_json()}
    (rebuilt, before) = outcome_from_events(parse_events([event, plain])).probes
    assert rebuilt == early
    assert (
        before.judged
        and before.settle is None
        and ProbeEvaluation("before", _result(990)).marks() == {}
    )
