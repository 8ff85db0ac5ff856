"""The alerts phase against a fake Prometheus (ALERTS samples) and a fake receiver."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from harness.clients.prometheus import PrometheusClient
from harness.clients.receiver import ReceiverClient
from harness.errors import Refused, StackError
from harness.experiment.alerting import await_alerts, refuse_unknown_alerts
from harness.outcome import FaultWindow, Outcome
from harness.runtime.endpoints import endpoints_of
from harness.specs.alertexpect import AlertExpectation, NoAlert
from harness.specs.topology import load_topology
from tests.fakeruntime import FakeRuntime

ROOT = Path(__file__).resolve().parents[2]


class Journal:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def record(self, kind: str, **fields: Any) -> None:
        self.events.append((kind, fields))


def prometheus(
    samples: list[float], rules: tuple[str, ...] = ("ShopHighErrorRatio",)
) -> PrometheusClient:
    """ALERTS answers with one series firing at `samples` (wall clock)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/rules":
            group = {"name": "g", "rules": [{"name": n, "type": "alerting"} for n in rules]}
            return httpx.Response(200, json={"status": "success", "data": {"groups": [group]}})
        assert request.url.params["query"].startswith("ALERTS{")
        result = (
            [
                {
                    "metric": {"alertname": "ShopHighErrorRatio", "service": "gateway"},
                    "values": [[t, "1"] for t in samples],
                }
            ]
            if samples
            else []
        )
        data = {"resultType": "matrix", "result": result}
        return httpx.Response(200, json={"status": "success", "data": data})

    http = httpx.Client(base_url="http://p.test", transport=httpx.MockTransport(handle))
    return PrometheusClient("http://p.test", client=http)


def receiver(notes: list[dict[str, Any]] | None) -> ReceiverClient:
    def handle(request: httpx.Request) -> httpx.Response:
        if notes is None:
            return httpx.Response(503, text="down")
        return httpx.Response(200, json=notes)

    return ReceiverClient("http://r.test", transport=httpx.MockTransport(handle))


def note(at: float, receiver_name: str, status: str = "firing") -> dict[str, Any]:
    labels = {"alertname": "ShopHighErrorRatio", "service": "gateway", "severity": "page"}
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {},
        "startsAt": "",
        "endsAt": "",
        "fingerprint": "f",
    }
    return {
        "received_at": at,
        "receiver": receiver_name,
        "status": status,
        "groupKey": "{}",
        "alerts": [alert],
    }


def context(prom: PrometheusClient, start: float, **expect: Any) -> Any:
    outcome = Outcome()
    outcome.fault_windows.append(FaultWindow(0, "refused", ("orders-1",), start, start + 1))
    outcome.figures.rollback_complete = start + 1
    spec = {"alert": "ShopHighErrorRatio", "fires_within": 30, **expect}
    exp = SimpleNamespace(
        tick=0.05,
        load=None,
        expectations=SimpleNamespace(alerts=(AlertExpectation(**spec),), no_alerts=()),
    )
    topo = load_topology(ROOT / "stack.yaml")
    return SimpleNamespace(
        exp=exp,
        outcome=outcome,
        topo=topo,
        env=SimpleNamespace(runtime=FakeRuntime({}, endpoints=endpoints_of(topo))),
        prom=prom,
        journal=Journal(),
        load=None,
        source=Path("e.yaml"),
    )


def test_an_alert_that_fires_reaches_page_and_resolves_is_proven() -> None:
    start = time.time() - 30
    ctx = context(
        prometheus([start + 5, start + 6, start + 7]), start, receiver="page", resolves_within=60
    )
    await_alerts(ctx, receiver([note(start + 8, "page"), note(start + 20, "page", "resolved")]))
    [proof] = ctx.outcome.alerts
    assert proof.ok, proof.problems
    assert (proof.time_to_fire, proof.time_to_notify) == (5.0, 8.0)
    assert proof.time_to_resolve == 7.0  # last sample + one evaluation, after rollback at +1
    assert proof.resolve_notified_at == start + 20
    assert proof.floor is not None and proof.floor.fire is not None
    assert ctx.outcome.verdict is None  # nothing failed
    assert ctx.journal.events[0][0] == "alert"


def test_delivery_to_another_receiver_deviates() -> None:
    start = time.time() - 30
    ctx = context(prometheus([start + 5]), start, receiver="page", notified_within=10)
    await_alerts(ctx, receiver([note(start + 8, "ticket")]))
    [proof] = ctx.outcome.alerts
    assert proof.problems == ["was delivered to ticket, not page"]
    assert ctx.outcome.verdict == "deviated"


def test_never_firing_deviates_after_its_deadline() -> None:
    start = time.time()
    ctx = context(prometheus([]), start, fires_within=0.2, notified_within=0.3)
    began = time.monotonic()
    await_alerts(ctx, receiver([]))
    assert time.monotonic() - began < 5
    [proof] = ctx.outcome.alerts
    assert proof.problems[0] == "did not fire within 0.2s of the fault's start"
    assert "no notification arrived" in proof.problems[1]


def test_firing_late_deviates() -> None:
    start = time.time() - 30
    ctx = context(prometheus([start + 12]), start, fires_within=10)
    await_alerts(ctx, receiver([note(start + 13, "page")]))
    assert ctx.outcome.alerts[0].problems == ["fired after 12.0s, later than 10s"]


def test_already_firing_proves_nothing() -> None:
    start = time.time() - 30
    ctx = context(prometheus([start - 1, start, start + 1]), start)
    await_alerts(ctx, receiver([note(start + 2, "page")]))
    assert "already firing" in ctx.outcome.alerts[0].problems[0]


def test_an_unreadable_receiver_is_no_notification() -> None:
    start = time.time() - 30
    ctx = context(prometheus([start + 5]), start, notified_within=0.1)
    await_alerts(ctx, receiver(None))
    assert ctx.outcome.alerts[0].problems == ["no notification arrived (http://127.0.0.1:19094)"]


def test_unknown_alert_names_are_refused_before_anything_runs() -> None:
    ctx = context(prometheus([], rules=("Other",)), time.time())
    ctx.exp.expectations.no_alerts = (NoAlert(alert="Nope"),)
    with pytest.raises(Refused, match="ShopHighErrorRatio, Nope|Nope, ShopHighErrorRatio"):
        refuse_unknown_alerts(ctx, receiver([]))


def test_a_receiver_that_does_not_answer_stops_the_run_before_any_fault() -> None:
    ctx = context(prometheus([]), time.time())
    with pytest.raises(StackError, match="alert receiver at http://r.test does not answer"):
        refuse_unknown_alerts(ctx, receiver(None))


def test_the_floor_comes_from_the_rule_the_labels_pick() -> None:
    """Sloth's page and ticket alerts share a name: severity picks the ticket's windows."""
    start = time.time() - 30
    page = context(prometheus([start + 5]), start, labels={"severity": "page"})
    ticket = context(prometheus([start + 5]), start, labels={"severity": "ticket"})
    page.exp.expectations.alerts = (
        AlertExpectation(
            alert="ShopAvailabilitySLO",
            labels={"severity": "page"},
            fires_within=30,
            notified_within=10,
        ),
    )
    ticket.exp.expectations.alerts = (
        AlertExpectation(
            alert="ShopAvailabilitySLO",
            labels={"severity": "ticket"},
            fires_within=30,
            notified_within=10,
        ),
    )
    await_alerts(page, receiver([]))
    await_alerts(ticket, receiver([]))
    page_floor, ticket_floor = page.outcome.alerts[0].floor, ticket.outcome.alerts[0].floor
    assert page_floor is not None and ticket_floor is not None
    assert "W 60s" in page_floor.note and "W 1440s" in ticket_floor.note
