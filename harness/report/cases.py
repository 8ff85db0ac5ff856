"""Turn an outcome into test cases: one per probe per phase, guardrail, expectation, check.

Shared by the JUnit writer and the HTML report so both say the same thing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from harness.alerts.proof import AlertProof
from harness.judging import judged_note
from harness.outcome import Outcome, ProbeEvaluation
from harness.probes.promql import ProbeResult

__all__ = ["Case", "cases_of"]

_PHASE_TITLES = {
    "before": "steady state before",
    "after": "steady state after",
    "guardrail": "guardrail",
    "during": "expectation during the fault",
    "dry-run": "steady state (dry run)",
}


@dataclass(frozen=True)
class Case:
    classname: str
    name: str
    ok: bool
    message: str  # the evidence: query, value, threshold, time
    skipped: bool = False


def cases_of(outcome: Outcome, experiment: str) -> list[Case]:
    cases: list[Case] = []
    grouped: dict[tuple[str, str], list[ProbeEvaluation]] = {}
    # a ramp's expectations and guardrails are judged per step (its breaking point may
    # lie past what the hypothesis claims): its cases are the steps
    per_step = ("during", "guardrail") if outcome.ramp is not None else ()
    for p in outcome.probes:
        if p.phase in _PHASE_TITLES and p.phase not in per_step:
            grouped.setdefault((p.phase, p.result.name), []).append(p)
    for (phase, name), marked in grouped.items():
        title = f"{experiment}.{_PHASE_TITLES[phase]}"
        evals = [p.result for p in marked if p.judged]  # the rest never decide (`infault`)
        note = judged_note(marked)
        if not evals:
            # a during expectation with nothing judged showed nothing: it fails (the
            # verdict says so); a guardrail pending throughout had nothing to stop
            skip = phase != "during"
            cases.append(Case(title, name, skip, f"no evaluation inside the fault: {note}", skip))
            continue
        bad = [e for e in evals if not e.ok]
        # "before" is polled until it holds, so its last evaluation decides; elsewhere any failure
        polled = phase in ("before", "dry-run")
        ok = evals[-1].ok if polled else not bad
        shown = evals[-1] if polled or not bad else bad[0]
        evidence = _evidence(shown, len(evals), len(bad))
        cases.append(Case(title, name, ok, f"{evidence}; {note}" if note else evidence))
    if outcome.figures.recovery_awaited:
        recovery = outcome.figures.recovery_seconds
        ok = recovery is not None
        msg = (
            f"steady state confirmed by the probes {recovery} s after the rollback"
            if ok
            else "steady state did not return"
        )
        first = outcome.figures.first_success_seconds
        if first is not None:
            msg += f"; the first successful request sent after it answered {first} s after it"
        cases.append(Case(f"{experiment}.recovery", "steady state returns", ok, msg))
    cases += _ramp_cases(outcome, experiment)
    for check in outcome.checks:
        cases.append(Case(f"{experiment}.checks", check.name, check.ok, check.detail))
    for proof in outcome.alerts:
        cases.append(Case(f"{experiment}.alerts", _alert_title(proof), proof.ok, _alert(proof)))
    if outcome.abort is not None:
        cases.append(Case(f"{experiment}.run", "no guardrail breach", False, outcome.abort.reason))
    if outcome.verdict in _NOT_RUN_THROUGH:
        why = "; ".join(outcome.reasons) or "no reason recorded"
        cases.append(Case(f"{experiment}.run", _NOT_RUN_THROUGH[outcome.verdict], False, why))
    return cases


# verdicts that say the run itself did not go through, and the case that fails for each
_NOT_RUN_THROUGH = {
    "refused": "the run is allowed (preflight)",
    "interrupted": "the run is not interrupted",
    "error": "the run completes without error",
}


def _ramp_cases(outcome: Outcome, experiment: str) -> list[Case]:
    """A case per step: it fails when a step the hypothesis claims did not hold; a break
    past the claim passes, as the finding it is; a step not run is skipped."""
    ramp = outcome.ramp
    if ramp is None:
        return []
    cases = []
    for s in ramp.steps:
        title = f"step {s.step}: {s.description}"
        claimed = s.step <= ramp.must_hold
        if s.status == "not run":
            why = ramp.limit if ramp.limit.startswith(f"step {s.step} ") else "after the break"
            cases.append(Case(f"{experiment}.ramp", title, True, f"not run: {why}", True))
            continue
        held = s.status == "held"
        detail = "held" if held else f"{s.status}: {'; '.join(s.reasons)}"
        if not held and not claimed:
            detail = f"breaking point, past the {ramp.must_hold} step(s) claimed: {detail}"
        cases.append(Case(f"{experiment}.ramp", title, held or not claimed, detail))
    return cases


def _evidence(r: ProbeResult, total: int, failed: int) -> str:
    value = "no data" if r.value is None else f"{r.value:.6g}"
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.time))
    text = (
        f"{r.status}: value {value} {r.op} threshold {r.threshold:g} at {when}; "
        f"{failed} of {total} evaluations failed; query: {r.query}"
    )
    return f"{text} ({r.detail})" if r.detail else text


def _alert_title(p: AlertProof) -> str:
    where = f"{p.alert}{{{', '.join(f'{k}={v}' for k, v in sorted(p.labels.items()))}}}"
    return f"{where} fires during the fault" if p.labels else f"{p.alert} fires during the fault"


def _alert(p: AlertProof) -> str:
    """The proof and where it comes from: ALERTS in Prometheus, the receiver, the floor."""
    floor = p.floor.explain() if p.floor is not None else "no rule of that name in the rule files"
    return (
        f"{'proven' if p.ok else 'not proven'}: {p.summary()}; "
        f"evidence: {p.query} in Prometheus, notifications at {p.receiver_url}; "
        f"floor to firing {floor}; share p {p.share:.3g} ({p.share_source})"
    )
