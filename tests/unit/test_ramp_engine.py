"""The ramp's engine on a fake stack: each step journaled, injected and rolled back like any
fault, the breaking point found and judged against `hold_through`, the blast radius never
passed, and a dark control plane an abort rather than a breaking point."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from harness.clients.prometheus import PrometheusClient
from harness.experiment.phases import load_budget
from harness.experiment.run import run_experiment
from harness.experiment.stepslos import judge_slos
from harness.report.cases import cases_of
from harness.report.html import write_html
from harness.report.rebuild import outcome_from_events
from harness.report.suite import write_suite
from harness.safety.events import parse_events
from harness.specs.experiment import Experiment
from harness.specs.topology import SloSpec
from tests.fakes import fake_prometheus
from tests.unit.engineworld import EXPERIMENT, LINK, World, assert_clean, assert_finished, events

LATENCY_RAMP: dict[str, Any] = {
    "steps": [{"latency_ms": 100}, {"latency_ms": 200}, {"latency_ms": 300}]
}
# the fake Prometheus answers for the instant asked, with no look-back: judged from the start
DURING = {"during": [{"name": "fast", "query": "fast", "op": ">=", "threshold": 1, "settle": 0}]}
GUARD = [{"name": "not-on-fire", "query": "fire", "op": ">=", "threshold": 1}]
WATCH = [{"name": "watch", "query": "anything", "op": ">=", "threshold": 0, "settle": 0}]  # passes


def _latency(world: World) -> int:
    """The latency toxic on the link now (0: none)."""
    toxics = world.fake.proxies[LINK]["toxics"]
    return max((t["attributes"]["latency"] for t in toxics), default=0)


def _breaks_at(world: World, ms: int) -> PrometheusClient:
    """Every query answers 1 until a toxic of `ms` or more is on the link, then 0."""
    return fake_prometheus(lambda: 0.0 if _latency(world) >= ms else 1.0)


def _ramp_events(ctx: Any, name: str) -> list[dict[str, Any]]:
    return [e for e in events(ctx) if e["event"] == name]


def test_a_ramp_stops_at_the_first_step_that_breaks(world: World):
    ctx = world.ctx(
        prom=_breaks_at(world, 300),
        ramp={**LATENCY_RAMP, "hold_through": 2},
        expectations={**DURING, "recovery_within": 2},
    )
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "held", 0)  # it broke past what the hypothesis claims
    assert_clean(world, ctx)
    ramp = outcome.ramp
    assert ramp is not None and ramp.breaking_point == 3
    assert [s.status for s in ramp.steps] == ["held", "held", "broke"]
    assert ramp.summary().startswith(
        "holds at step 2 (latency_ms=200); breaks at step 3 (latency_ms=300): "
        "expectation fast did not hold during the fault: worst 0 at"
    )
    assert ramp.seconds_to_break is not None and ramp.seconds_to_break > 0.5
    # each step injected once and rolled back, under names of its own
    posts = [p for m, p in world.fake.calls if m == "POST" and p.endswith("/toxics")]
    assert len(posts) == 3
    applying = _ramp_events(ctx, "fault.applying")
    assert [e["action"]["attributes"]["latency"] for e in applying] == [100, 200, 300]
    assert len({e["fault_id"] for e in applying}) == 3
    assert len({e["action"]["name"] for e in applying}) == 3
    assert [e["step"] for e in _ramp_events(ctx, "ramp.step")] == [1, 2, 3]
    assert [w.step for w in outcome.fault_windows] == [1, 2, 3]
    (point,) = _ramp_events(ctx, "ramp.breaking_point")
    assert point["step"] == 3 and point["summary"] == ramp.summary()
    verdict = _ramp_events(ctx, "verdict")[0]
    assert verdict["ramp"]["breaking_point"] == 3
    assert [s["status"] for s in verdict["ramp"]["steps"]] == ["held", "held", "broke"]


def test_a_break_the_hypothesis_claims_holds_deviates(world: World):
    ctx = world.ctx(
        prom=_breaks_at(world, 200),
        ramp=LATENCY_RAMP,  # every step must hold
        expectations={**DURING, "recovery_within": 2},
    )
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "deviated", 1)
    assert_clean(world, ctx)
    assert outcome.ramp is not None and outcome.ramp.breaking_point == 2
    assert [s.status for s in outcome.ramp.steps] == ["held", "broke", "not run"]
    assert outcome.reasons[0].startswith("ramp: holds at step 1 (latency_ms=100); breaks at step 2")
    assert outcome.reasons[0].endswith("(the hypothesis holds through step 3)")
    assert len(_ramp_events(ctx, "fault.applying")) == 2  # step 3 never ran


def test_a_guardrail_breach_is_the_breaking_point(world: World):
    ctx = world.ctx(
        prom=_breaks_at(world, 200), ramp={**LATENCY_RAMP, "hold_through": 1}, guardrails=GUARD
    )
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "held", 0)
    assert_clean(world, ctx)
    assert outcome.ramp is not None and outcome.ramp.breaking_point == 2
    assert outcome.ramp.steps[1].status == "breached"
    assert outcome.ramp.steps[1].reasons[0].startswith("guardrail breached: not-on-fire")
    assert outcome.abort is None  # the ramp's stop, past the claim: no abort of the run
    assert outcome.figures.detection_seconds is None


def test_a_breach_within_the_claim_aborts_the_run(world: World):
    ctx = world.ctx(prom=_breaks_at(world, 100), ramp=LATENCY_RAMP, guardrails=GUARD)
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "aborted", 2)
    assert_clean(world, ctx)
    assert outcome.ramp is not None and outcome.ramp.breaking_point == 1
    assert outcome.ramp.summary().startswith("breaks at the first step: breaks at step 1")
    assert outcome.abort is not None and outcome.figures.detection_seconds is not None
    assert outcome.figures.detection_seconds < 1


def test_no_recovery_between_steps_is_a_break(world: World):
    seen = {"hurt": False}

    def value() -> float:
        seen["hurt"] = seen["hurt"] or _latency(world) >= 200
        return 0.0 if seen["hurt"] else 1.0  # never comes back

    ctx = world.ctx(
        prom=fake_prometheus(value),
        ramp={**LATENCY_RAMP, "hold_through": 1},
        expectations={"during": WATCH, "recovery_within": 0.5},
    )
    outcome = run_experiment(ctx)
    assert outcome.ramp is not None and outcome.ramp.breaking_point == 2
    assert outcome.ramp.steps[1].reasons == ["steady state did not return within 0.5s of rollback"]
    assert outcome.ramp.steps[1].recovery_seconds is None
    # past the claim, but the system is left unsteady: that deviates on its own
    assert_finished(ctx, outcome, "deviated", 1)
    assert any(r.startswith("not steady after the fault") for r in outcome.reasons)


def test_the_ramp_ends_at_the_blast_radius(world: World):
    ctx = world.ctx(
        ramp={"target": "catalogs", "steps": [{"count": 1}, {"count": 2}]},
        targets={"catalogs": {"service": "catalog", "count": 1}},
        faults=[{"type": "pause", "target": "catalogs", "duration": 0.3}],
        blast_radius={"max_duration": 5},  # no total outage
    )
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "held", 0)
    assert_clean(world, ctx)
    ramp = outcome.ramp
    assert ramp is not None and ramp.breaking_point is None
    assert [s.status for s in ramp.steps] == ["held", "not run"]
    assert ramp.summary() == (
        "holds at step 1 (pause on 1 of 2 catalog replicas); step 2 (2 catalog replicas) not run: "
        "blast radius: every live catalog replica would be hit; set allow_total_outage: true "
        "to allow a total outage"
    )
    paused = [e for e in _ramp_events(ctx, "fault.applying")]
    assert len(paused) == 1  # the refused step was never injected
    assert all(ref.alive() for ref in world.stack.replicas.values())


def test_a_dark_control_plane_aborts_and_is_no_breaking_point(world: World):
    def value() -> float:
        if _latency(world) >= 200:
            world.fake.fail(times=1, methods={"GET"})  # the next /version fails
        return 1.0

    ctx = world.ctx(prom=fake_prometheus(value), ramp=LATENCY_RAMP, guardrails=WATCH)
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "aborted", 2)
    assert_clean(world, ctx)
    assert outcome.ramp is not None and outcome.ramp.breaking_point is None
    assert outcome.reasons[0].startswith("Toxiproxy unreachable during the fault")


def test_unknown_slos_refuse_the_run_before_anything_runs(world: World):
    ctx = world.ctx(ramp={**LATENCY_RAMP, "slos": ["requests-availability"]})
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "refused", 3)
    assert "ramp.slos: unknown SLO requests-availability (the stack's SLOs: none" in (
        outcome.reasons[0]
    )
    assert world.fake.count("POST") == 0


# -- each step's SLOs ----------------------------------------------------------------

SLO_FILE = """\
version: prometheus/v1
service: shop
slos:
  - name: availability
    objective: 99
    sli:
      events:
        error_query: sum(rate(errors_total[{{.window}}]))
        total_query: sum(rate(requests_total[{{.window}}]))
    alerting: {name: ShopAvailability}
  - name: other
    objective: 90
    sli:
      events:
        error_query: sum(rate(other_errors_total[{{.window}}]))
        total_query: sum(rate(other_total[{{.window}}]))
    alerting: {name: ShopOther}
"""


def _slo_ctx(tmp_path: Path, errors: float | None, total: float | None) -> Any:
    """What judge_slos reads: the ramp's SLO names, the stack's SLO files, Prometheus."""
    path = tmp_path / "slo.yaml"
    path.write_text(SLO_FILE)
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        query = request.url.params["query"]
        seen.append(query)
        value = errors if query.startswith("sum(rate(errors_total") else total
        result = [] if value is None else [{"metric": {}, "value": [0, str(value)]}]
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        return httpx.Response(200, json=body)

    http = httpx.Client(base_url="http://p.test", transport=httpx.MockTransport(handle))
    exp = Experiment.model_validate(
        {**EXPERIMENT, "ramp": {**LATENCY_RAMP, "slos": ["availability"]}}
    )
    return SimpleNamespace(
        exp=exp,
        topo=SimpleNamespace(slo=SloSpec(files=(path,))),
        prom=PrometheusClient("http://p.test", client=http),
        seen=seen,
    )


def test_a_step_meets_its_slo_when_the_sli_over_its_window_meets_the_objective(tmp_path):
    ctx = _slo_ctx(tmp_path, errors=0.1, total=20.0)  # 0.5% errors, objective 99%
    burns, broken = judge_slos(ctx, 1000.0, 1012.4)
    assert broken == []
    (burn,) = burns  # only the SLO the ramp names
    assert burn.slo == "availability" and math.isclose(burn.error_ratio or 0, 0.005)
    assert "sum(rate(errors_total[12s]))" in ctx.seen  # the step's own window, at its end


def test_a_step_over_the_budget_or_with_no_data_breaks_its_slo(tmp_path):
    _, broken = judge_slos(_slo_ctx(tmp_path, errors=1.0, total=20.0), 1000.0, 1010.0)
    assert broken == [
        "SLO availability: SLI 95.0000% over the step's 10s, under the objective 99% "
        "(error ratio 0.05 of 200 requests, `sum(rate(errors_total[10s]))` / "
        "`sum(rate(requests_total[10s]))`)"
    ]
    _, broken = judge_slos(_slo_ctx(tmp_path, errors=None, total=None), 1000.0, 1010.0)
    assert broken == [
        "SLO availability: no data: no request in the range over the step "
        "(`sum(rate(requests_total[10s]))`)"
    ]


# -- what a ramp's reader sees -------------------------------------------------------


def test_the_report_junit_and_a_rebuild_show_each_step_and_the_breaking_point(world, tmp_path):
    ctx = world.ctx(
        prom=_breaks_at(world, 300),
        ramp={**LATENCY_RAMP, "hold_through": 2},
        expectations={**DURING, "recovery_within": 2},
    )
    outcome = run_experiment(ctx)
    journal = events(ctx)
    cases = [c for c in cases_of(outcome, "unit") if c.classname == "unit.ramp"]
    assert [(c.name, c.ok, c.skipped) for c in cases] == [
        ("step 1: latency_ms=100", True, False),
        ("step 2: latency_ms=200", True, False),
        ("step 3: latency_ms=300", True, False),  # past the claim: a finding, not a failure
    ]
    assert cases[2].message.startswith("breaking point, past the 2 step(s) claimed: broke: ")
    # the expectation that broke step 3 is judged by the step, not as a failed case
    assert all(c.ok for c in cases_of(outcome, "unit"))
    rebuilt = outcome_from_events(parse_events(journal))
    assert rebuilt.ramp is not None and rebuilt.ramp.to_json() == outcome.ramp.to_json()
    page = tmp_path / "report.html"
    records = parse_events(journal)
    write_html(page, ctx.exp, outcome, records, ctx.prom, ctx.run_id, ctx.started, ["gateway"])
    html = page.read_text()
    assert "Ramp: the breaking point" in html
    assert "holds at step 2 (latency_ms=200); breaks at step 3 (latency_ms=300)" in html
    assert "ramp: expectation fast at each step" in html
    assert html.count("(breaking point)") == 1
    run = SimpleNamespace(
        name="unit", outcome=outcome, out_dir=tmp_path / "r", seconds=9.0, designed="held"
    )
    suite = write_suite(tmp_path, [run]).read_text()
    assert "ramp: holds at step 2 (latency_ms=200); breaks at step 3 (latency_ms=300)" in suite


def test_a_stricter_claim_fails_the_step_case(world):
    ctx = world.ctx(prom=_breaks_at(world, 200), ramp=LATENCY_RAMP, expectations=DURING)
    outcome = run_experiment(ctx)
    steps = {c.name: c for c in cases_of(outcome, "unit") if c.classname == "unit.ramp"}
    assert not steps["step 2: latency_ms=200"].ok
    assert steps["step 3: latency_ms=300"].skipped
    assert steps["step 3: latency_ms=300"].message == "not run: after the break"


def test_the_load_lasts_for_every_step_of_a_ramp():
    exp = Experiment.model_validate({**EXPERIMENT, "ramp": LATENCY_RAMP, "steady_wait": 30})
    # settle 0 + steady_wait 30 + 3 x (max_duration 5 + recovery_within 2) + slack 120
    assert load_budget(exp, windows=3) == 171
    assert load_budget(exp, windows=1) == 157
