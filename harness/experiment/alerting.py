"""The alerts phase: wait for each expected alert to fire, reach its receiver and
resolve, each within its deadline, then judge it against the theoretical floor.

Runs after the steady state returned, with the load still on (a ratio alert resolves
as its window fills with good requests). Deadlines count from the first fault's start
(firing, notification) and from the rollback's end (resolution). An alert that never
fired, fired before the fault, reached another receiver or did not resolve in time
makes the run "deviated", with Prometheus's ALERTS series and the receiver cited.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from harness.alerts.check import RULE_SUFFIXES
from harness.alerts.floor import Floor, ShareOf, Timing, floor_of, prom_seconds
from harness.alerts.proof import AlertProof, firing_of, notification_of
from harness.alerts.rules import Rule, load_rule_file, parse_rule_text
from harness.clients.prometheus import PrometheusError
from harness.clients.receiver import Notification, ReceiverClient, ReceiverError
from harness.errors import Refused, StackError
from harness.experiment.context import RunContext
from harness.load.generator import Record, monotonic_offset
from harness.runtime.promconfig import SLO_RULES, alertmanager_config, slo_rules
from harness.safety.events import EventName
from harness.specs.alertexpect import AlertExpectation
from harness.specs.topology import Topology

__all__ = ["await_alerts", "receiver_url", "refuse_unknown_alerts", "stack_rules", "timing_of"]


def receiver_url(ctx: RunContext) -> str:
    """Where the harness reads Alertmanager's notifications; a stack without one (a
    cluster whose topology names no Alertmanager) refuses an experiment that expects
    alerts, in preflight: no alert could be proven."""
    url = ctx.env.runtime.endpoints().alert_receiver
    if url is None:
        raise Refused(
            f"{ctx.source}: this experiment expects alerts, but the stack has no Alertmanager "
            "the harness reaches: name alertmanager.url and receiver_url in the topology"
        )
    return url


def stack_rules(topo: Topology) -> list[Rule]:
    """Every rule the stack's Prometheus loads: its rules directory's files and the
    rules of its SLOs, generated with the stack's window scale."""
    folder = Path(topo.prometheus.rules_dir)
    files = sorted(p for p in folder.glob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
    rules = [r for f in files for r in load_rule_file(f).rules]
    for name, text in slo_rules(topo).items():
        rules += parse_rule_text(text, Path(SLO_RULES) / name).rules
    return rules


def timing_of(topo: Topology) -> Timing:
    every = prom_seconds(topo.prometheus.scrape_interval)
    route = alertmanager_config(topo)["route"]
    return Timing(scrape=every, evaluation=every, group_wait=prom_seconds(route["group_wait"]))


def refuse_unknown_alerts(ctx: RunContext, receiver: ReceiverClient | None = None) -> None:
    """Preflight: every alert the experiment names is a rule Prometheus has loaded, and
    the receiver that proves delivery answers."""
    named = [a.alert for a in ctx.exp.expectations.alerts]
    named += [q.alert for q in ctx.exp.expectations.no_alerts if q.alert]
    if not named:
        return
    if ctx.exp.expectations.alerts:
        receiver = receiver or ReceiverClient(receiver_url(ctx), timeout=2.0)
        if not receiver.ready():
            raise StackError(
                f"the alert receiver at {receiver.base_url} does not answer: the alerts "
                "this experiment expects could not be proven (is the stack up?)"
            )
    loaded = ctx.prom.alert_rules()
    unknown = sorted({n for n in named if n not in loaded})
    if unknown:
        known = ", ".join(sorted(loaded)) or "none"
        raise Refused(
            f"{ctx.source}: alert(s) {', '.join(unknown)} are not rules of the Prometheus at "
            f"{ctx.prom.base_url} (loaded: {known})"
        )


def await_alerts(ctx: RunContext, receiver: ReceiverClient | None = None) -> None:
    """Poll the evidence each tick until every expectation is decided or past its
    deadline; record each proof in the outcome and the journal."""
    expected = ctx.exp.expectations.alerts
    if not expected:
        return
    windows = ctx.outcome.fault_windows
    if not windows:
        ctx.outcome.fail("deviated", "alerts were expected but no fault started")
        return
    start = min(w.start for w in windows)
    rollback = ctx.outcome.figures.rollback_complete or time.time()
    timing = timing_of(ctx.topo)
    rules = stack_rules(ctx.topo)
    receiver = receiver or ReceiverClient(receiver_url(ctx))
    proofs = [_proof(ctx, e, start, rollback, rules, timing) for e in expected]
    last = max(_deadline(e, start, rollback) for e in expected)
    while True:
        tick = time.monotonic()
        now = time.time()
        notes = _notifications(receiver, start - 1.0)
        for e, proof in zip(expected, proofs, strict=True):
            _observe(ctx, e, proof, notes, now, timing.evaluation)
        if all(_decided(e, p) for e, p in zip(expected, proofs, strict=True)) or now > last:
            break
        time.sleep(max(0.0, tick + ctx.exp.tick - time.monotonic()))
    for e, proof in zip(expected, proofs, strict=True):
        _judge(e, proof, rollback)
        ctx.outcome.alerts.append(proof)
        ctx.journal.record(EventName.ALERT, **proof.to_json())
        if not proof.ok:
            ctx.outcome.fail("deviated", proof.summary())


def _proof(
    ctx: RunContext,
    e: AlertExpectation,
    start: float,
    rollback: float,
    rules: list[Rule],
    timing: Timing,
) -> AlertProof:
    records = _fault_records(ctx)
    share, source = _share(e, records)
    # Sloth's page and ticket alerts share a name: the labels asked for pick one
    rule = next(
        (
            r
            for r in rules
            if r.kind == "alert"
            and r.name == e.alert
            and all(r.labels.get(k, v) == v for k, v in e.labels.items())
        ),
        None,
    )
    floor: Floor | None = None
    if rule is not None:
        floor = floor_of(rule, rules, e.share or _share_of(records), timing, _history(ctx, start))
    return AlertProof(
        alert=e.alert,
        labels=dict(e.labels),
        query=e.matchers(),
        receiver_url=receiver_url(ctx),
        fault_start=start,
        rollback=rollback,
        floor=floor,
        share=share,
        share_source=source,
    )


def _observe(
    ctx: RunContext,
    e: AlertExpectation,
    proof: AlertProof,
    notes: list[Notification] | None,
    now: float,
    evaluation: float,
) -> None:
    span = max(1, int(now - proof.fault_start + 4 * evaluation + 1))
    try:
        series = ctx.prom.query_samples(f"{e.matchers()}[{span}s]", at=now)
    except PrometheusError as exc:
        proof.problems[:] = [f"Prometheus did not give the ALERTS evidence: {exc}"]
        return
    if proof.problems and proof.problems[0].startswith("Prometheus did not"):
        proof.problems.clear()
    firing = firing_of(series, proof.fault_start, now, evaluation)
    if firing.already:
        proof.fired_at = None
        proof.problems[:] = ["it was already firing when the fault started: nothing is proven"]
        return
    proof.fired_at, proof.resolved_at = firing.fired_at, firing.resolved_at
    proof.fired_labels = firing.labels
    if notes is None:
        return
    first = notification_of(notes, e.alert, e.labels, proof.fault_start)
    wanted = notification_of(
        [n for n in notes if e.receiver in (None, n.receiver)], e.alert, e.labels, proof.fault_start
    )
    chosen = wanted or first
    if chosen is not None:
        proof.notified_at, proof.notified_receiver = chosen.received_at, chosen.receiver
        gone = notification_of(notes, e.alert, e.labels, chosen.received_at, "resolved")
        proof.resolve_notified_at = gone.received_at if gone else None


def _decided(e: AlertExpectation, proof: AlertProof) -> bool:
    if proof.problems:
        return bool(proof.problems[0].startswith("it was already firing"))
    notified = proof.notified_at is not None and (
        e.receiver is None or proof.notified_receiver == e.receiver
    )
    resolved = e.resolves_within is None or proof.resolved_at is not None
    return proof.fired_at is not None and notified and resolved


def _deadline(e: AlertExpectation, start: float, rollback: float) -> float:
    ends = [start + e.fires_within, start + e.notify_deadline]
    if e.resolves_within is not None:
        ends.append(rollback + e.resolves_within)
    return max(ends)


def _judge(e: AlertExpectation, proof: AlertProof, rollback: float) -> None:
    """Every way the expectation can be missed, each its own line."""
    if proof.problems:
        return
    problems = proof.problems
    fire = proof.time_to_fire
    if fire is None:
        problems.append(f"did not fire within {e.fires_within:g}s of the fault's start")
    elif fire > e.fires_within:
        problems.append(f"fired after {fire:.1f}s, later than {e.fires_within:g}s")
    notify = proof.time_to_notify
    if notify is None:
        where = f" at receiver {e.receiver}" if e.receiver else ""
        problems.append(f"no notification arrived{where} ({proof.receiver_url})")
    elif e.receiver is not None and proof.notified_receiver != e.receiver:
        problems.append(f"was delivered to {proof.notified_receiver}, not {e.receiver}")
    elif notify > e.notify_deadline:
        problems.append(f"was delivered after {notify:.1f}s, later than {e.notify_deadline:g}s")
    if e.resolves_within is not None and fire is not None:
        if proof.resolved_at is None:
            problems.append(f"still firing {e.resolves_within:g}s after the rollback")
        elif proof.resolved_at - rollback > e.resolves_within:
            late = proof.resolved_at - rollback
            problems.append(
                f"resolved {late:.1f}s after the rollback, later than {e.resolves_within:g}s"
            )


def _notifications(receiver: ReceiverClient, since: float) -> list[Notification] | None:
    """None when the receiver cannot be read (judged as "no notification" at the end)."""
    try:
        return receiver.notifications(since=since)
    except ReceiverError:
        return None


def _share(e: AlertExpectation, records: list[Record]) -> tuple[float, str]:
    """The share of requests the fault broke, as reported beside the floor."""
    if e.share is not None:
        return e.share, "expectation"
    if not records:
        return 1.0, "assumed"
    return sum(1 for r in records if not r.ok) / len(records), "load"


def _share_of(records: list[Record]) -> ShareOf:
    """Per comparison, from what the load's users saw during the fault: the share that
    failed (ratio alerts), or that failed or took longer than θ (quantile alerts)."""

    def share(kind: str, threshold: float) -> float:
        if not records:
            return 1.0
        if kind == "quantile":
            bad = sum(1 for r in records if not r.ok or r.latency > threshold)
        else:
            bad = sum(1 for r in records if not r.ok)
        return bad / len(records)

    return share


def _history(ctx: RunContext, start: float) -> float:
    """Seconds of the experiment's load before the fault (no load: traffic assumed
    steady for ever, the full-window floor)."""
    began = next((p.start for p in ctx.outcome.phases if p.name == "load"), None)
    if ctx.exp.load is None or began is None:
        return math.inf
    return max(0.0, start - began)


def _fault_records(ctx: RunContext) -> list[Record]:
    """The load's requests that were due while a fault was in place."""
    records = ctx.load.records if ctx.load is not None else []
    offset = monotonic_offset()
    windows = ctx.outcome.fault_windows
    return [r for r in list(records) if any(w.covers(r.scheduled + offset) for w in windows)]
