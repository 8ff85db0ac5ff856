"""The engine inside a fault, with a synthetic load: a client guardrail that waits for the
fault's own evidence (pending) and then acts on it alone, and `during` expectations on
the faulted and the spared replicas, judged only once their window lies inside the fault."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

import harness.experiment.run as engine
from harness.experiment.run import RunContext, run_experiment
from harness.load.generator import Record, monotonic_offset
from tests.unit.engineworld import World, assert_clean, assert_finished, events

Answer = Callable[[bool, str], tuple[bool, float]]  # (in the fault, target) -> (ok, latency)
LOAD = {"rate": 100, "routes": [{"method": "GET", "path": "/"}], "target": {"service": "gateway"}}


class FakeLoad:
    """Requests at `rate` per second from two seconds before it started, round the
    targets; each answered as `answer` says for whether a fault was in force when it
    was sent. Only `recent` and `stop` are what the engine uses of a BackgroundLoad."""

    def __init__(self, ctx: RunContext, answer: Answer, targets: Sequence[str], rate: float):
        self.ctx, self.answer, self.targets, self.rate = ctx, answer, targets, rate
        self.start = time.monotonic() - 2.0

    def recent(self, window: float) -> list[Record]:
        now = time.monotonic()
        wall = monotonic_offset()
        windows = list(self.ctx.outcome.fault_windows)
        out = []
        for i in range(int((now - self.start) * self.rate)):
            sent = self.start + i / self.rate
            hit = any(w.start <= sent + wall <= (w.end or math.inf) for w in windows)
            target = self.targets[i % len(self.targets)]
            ok, latency = self.answer(hit, target)
            if now - window <= sent + latency <= now:
                out.append(Record("GET /", sent, latency, 200 if ok else 503, target=target))
        return out

    @property
    def records(self) -> list[Record]:
        """Every request answered so far."""
        return self.recent(math.inf)

    def stop(self) -> None:
        return None


@pytest.fixture
def with_load(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Replace the real load with a FakeLoad answering as told."""

    def use(answer: Answer, targets: Sequence[str] = ("catalog-1", "catalog-2")) -> None:
        def start_load(ctx: RunContext) -> None:
            ctx.load = FakeLoad(ctx, answer, targets, LOAD["rate"])  # type: ignore[assignment]

        monkeypatch.setattr(engine, "start_load", start_load)

    return use


def _probes(ctx: RunContext, phase: str) -> list[dict[str, Any]]:
    return [e for e in events(ctx) if e["event"] == "probe" and e["phase"] == phase]


GUARD = {"name": "users", "metric": "error_ratio", "window": 1, "op": "<", "threshold": 0.1}
STEADY = [{"name": "up", "query": "up", "op": ">=", "threshold": 1}]


def test_a_client_guardrail_waits_for_the_fault_s_evidence_then_acts_on_it_alone(
    world: World, with_load: Callable[..., None]
):
    # a failed request takes 0.3 s to come back; before it, the window's second of
    # pre-fault successes would have diluted its failures below the threshold
    with_load(lambda hit, target: (not hit, 0.3 if hit else 0.01))
    ctx = world.ctx(load=LOAD, guardrails=[GUARD], faults=[_fault(2.0)])
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "aborted", 2)
    assert_clean(world, ctx)
    guard = _probes(ctx, "guardrail")
    assert guard[0]["status"] == "pending" and guard[0]["judged"] is False
    assert guard[0]["why"] == "no request sent since the fault began has completed yet"
    assert guard[-1]["status"] == "fail" and guard[-1]["value"] == 1.0
    assert "judged" not in guard[-1]  # a judged evaluation carries no marks
    assert outcome.figures.detection_seconds is not None
    assert 0.3 <= outcome.figures.detection_seconds < 1.0


def test_a_client_guardrail_acts_as_its_evidence_comes_back_not_a_guard_interval_later(
    world: World, with_load: Callable[..., None]
):
    with_load(lambda hit, target: (not hit, 0.3 if hit else 0.01))
    ctx = world.ctx(load=LOAD, guardrails=[GUARD], faults=[_fault(3.0)], guard_interval=1.0)
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "aborted", 2)
    detection = outcome.figures.detection_seconds
    assert detection is not None and 0.3 <= detection < 0.6  # the next guard tick: +1 s
    statuses = [e["status"] for e in _probes(ctx, "guardrail")]
    assert statuses[-1] == "fail" and set(statuses[:-1]) == {"pending"}


def test_a_guardrail_pending_for_a_whole_window_is_no_data_and_aborts(
    world: World, with_load: Callable[..., None]
):
    with_load(lambda hit, target: (not hit, 30.0 if hit else 0.01))  # the fault's hang
    guard = {**GUARD, "window": 0.3}
    ctx = world.ctx(load=LOAD, guardrails=[guard], faults=[_fault(2.0)])
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "aborted", 2)
    statuses = [e["status"] for e in _probes(ctx, "guardrail")]
    assert statuses[0] == "pending" and statuses[-1] == "no data"
    assert set(statuses) == {"pending", "no data"}
    assert outcome.figures.detection_seconds is not None
    assert 0.3 <= outcome.figures.detection_seconds < 1.0


FAULTED = {"name": "faulted-see-errors", "metric": "error_ratio", "window": 0.3, "op": ">", "threshold": 0.5, "replicas": "faulted"}  # fmt: skip
SPARED = {"name": "spared-see-none", "metric": "error_ratio", "window": 0.3, "op": "<", "threshold": 0.01, "replicas": "spared"}  # fmt: skip


def test_errors_on_the_faulted_replica_only_judged_inside_the_fault(
    world: World, with_load: Callable[..., None]
):
    with_load(lambda hit, target: (not (hit and target == "catalog-1"), 0.01))
    ctx = world.ctx(
        load=LOAD,
        steady_state=STEADY,
        faults=[_fault(1.5)],
        expectations={"during": [FAULTED, SPARED], "recovery_within": 2},
    )
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "held", 0)
    during = _probes(ctx, "during")
    early = [e for e in during if not e["judged"]]
    assert early and {e["why"] for e in early} == {"window still holds pre-fault requests"}
    # they count only requests sent into the fault: never the pre-fault successes
    assert {e["status"] for e in early if e["name"] == FAULTED["name"]} <= {"pass", "pending"}
    judged = [e for e in during if e["judged"]]
    assert judged and all(e["status"] == "pass" for e in judged)
    assert {e["name"] for e in judged} == {FAULTED["name"], SPARED["name"]}
    faulted = next(e for e in judged if e["name"] == FAULTED["name"])
    assert "through the faulted replicas (catalog-1)" in faulted["query"]
    assert (faulted["settle"], faulted["basis"]) == (0.3, "0.3 s window")


def test_a_fault_shorter_than_the_look_back_judges_nothing_and_never_passes(world: World):
    # `up` reads the newest sample, a scrape (1 s) old: validate cannot know the scrape
    # interval, the run does, and a 0.3 s fault holds no evaluation it could judge
    during = [{"name": "avail", "query": "up", "op": ">=", "threshold": 1}]
    ctx = world.ctx(expectations={"during": during, "recovery_within": 2})
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "deviated", 1)
    assert_clean(world, ctx)
    (reason,) = outcome.reasons
    assert reason.startswith("expectation avail: no evaluation inside the fault (none of its ")
    assert reason.endswith("those whose 1 s scrape lay inside the fault (from +1 s))")
    assert all(e["status"] == "pass" for e in _probes(ctx, "during"))  # passing, not judged


def test_recovery_is_the_users_first_success_and_the_probes_confirmation(
    world: World, with_load: Callable[..., None]
):
    with_load(lambda hit, target: (not hit, 0.02))
    ctx = world.ctx(load=LOAD, steady_state=[{**SPARED, "replicas": None, "window": 0.5}])
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "held", 0)
    figures = outcome.figures
    assert figures.first_success_seconds is not None and figures.recovery_seconds is not None
    # the first request after the rollback answered at once; the probe's 0.5 s window
    # still held the fault's failures until they aged out of it
    assert figures.first_success_seconds < 0.2 < 0.45 <= figures.recovery_seconds
    (verdict,) = [e for e in events(ctx) if e["event"] == "verdict"]
    assert verdict["figures"]["first_success_seconds"] == figures.first_success_seconds
    lines = figures.lines()
    assert any(
        x.startswith("rollback complete → first successful request sent after it") for x in lines
    )
    assert any(
        x.startswith("rollback complete → steady state confirmed by the probes") for x in lines
    )


def test_no_success_after_the_rollback_is_no_figure_and_holds_the_run_up_briefly(
    world: World, with_load: Callable[..., None], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("harness.experiment.phases.FIRST_SUCCESS_GRACE", 0.5)
    with_load(lambda hit, target: (False, 0.01))  # the load's users never succeed
    ctx = world.ctx(load=LOAD)  # a steady state that does not read the load: it holds
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "held", 0)
    assert outcome.figures.first_success_seconds is None
    assert outcome.figures.recovery_seconds is not None
    (recovery,) = [p for p in outcome.phases if p.name == "recovery"]
    assert recovery.end is not None and recovery.end - recovery.start < 1.5
    assert "first_success_seconds" not in outcome.figures.measured()


def test_the_live_view_shows_an_evaluation_not_yet_judged_as_pending_with_why_never_fail(
    world: World,
):
    # `up < 0` fails at every evaluation; those in its first 0.5 s (its settle) are not
    # judged, and the live view must not show them as a "fail" the verdict will not count
    during = [{"name": "never", "query": "up", "op": "<", "threshold": 0, "settle": "0.5s"}]
    ctx = world.ctx(steady_state=STEADY, faults=[_fault(1.2)], expectations={"during": during})
    run_experiment(ctx)
    judged = [e["judged"] is not False for e in _probes(ctx, "during") if e["name"] == "never"]
    shown = [r for _, _, results in ctx.display.ticks for r in results if r.name == "never"]  # type: ignore[attr-defined]
    assert False in judged and True in judged and len(shown) == len(judged)
    for was_judged, r in zip(judged, shown, strict=True):
        if was_judged:
            assert r.status == "fail"
        else:
            assert r.status == "pending" and r.detail.startswith("not judged: ")


def test_an_expectation_waits_for_the_requests_sent_into_a_hang_not_judging_an_empty_window(
    world: World, with_load: Callable[..., None]
):
    # the faulted replica's requests hang 0.6 s, then fail: a 0.3 s window that lies inside
    # the fault is empty at first (its requests are still hanging), and judging that as
    # no data would deviate an experiment whose claim holds (seen on Kinto: 2 s window,
    # 2 s timeout). It is pending until they come back, up to window + the load's timeout.
    with_load(lambda hit, target: (not (hit and target == "catalog-1"), 0.6 if hit else 0.01))
    ctx = world.ctx(
        load={**LOAD, "timeout": 1.0},
        steady_state=STEADY,
        faults=[_fault(2.0)],
        expectations={"during": [FAULTED], "recovery_within": 2},
    )
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "held", 0)
    during = _probes(ctx, "during")
    pending = [e for e in during if e["status"] == "pending"]
    assert pending and all(e["judged"] is False for e in pending)
    waited = "no request sent since the fault began has completed yet"
    assert any(e["why"] == waited for e in pending)  # past the window: waiting, not judged
    judged = [e for e in during if e["judged"]]
    assert judged and all(e["status"] == "pass" and e["value"] == 1.0 for e in judged)


def test_an_expectation_whose_requests_never_come_back_is_no_data_once_its_patience_is_spent(
    world: World, with_load: Callable[..., None]
):
    with_load(lambda hit, target: (not (hit and target == "catalog-1"), 30.0 if hit else 0.01))
    ctx = world.ctx(
        load={**LOAD, "timeout": 0.5},
        steady_state=STEADY,
        faults=[_fault(2.0)],
        expectations={"during": [FAULTED], "recovery_within": 2},
    )
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "deviated", 1)
    statuses = {e["status"] for e in _probes(ctx, "during") if e["judged"]}
    assert statuses == {"no data"}


def _fault(duration: float) -> dict[str, Any]:
    return {"type": "latency", "target": "one-link", "latency_ms": 100, "duration": duration}
