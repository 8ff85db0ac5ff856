"""Reading the evidence: ALERTS samples → fired/resolved; receiver → notification."""

from __future__ import annotations

from harness.alerts.floor import Floor
from harness.alerts.proof import AlertProof, firing_of, notification_of
from harness.clients.prometheus import Series
from harness.clients.receiver import Notification, NotifiedAlert

START = 1000.0


def series(*times: float, **labels: str) -> Series:
    return Series({"alertname": "A", **labels}, [(t, 1.0) for t in times])


def test_first_sample_after_the_fault_is_the_firing_time() -> None:
    f = firing_of([series(1012.0, 1013.0, 1014.0)], START, now=1014.5, evaluation=1.0)
    assert f.fired_at == 1012.0 and not f.already
    assert f.resolved_at is None  # still being written: not resolved


def test_resolved_once_no_sample_for_two_evaluations() -> None:
    f = firing_of([series(1012.0, 1013.0, 1014.0)], START, now=1020.0, evaluation=1.0)
    assert f.resolved_at == 1015.0


def test_firing_across_the_fault_start_proves_nothing() -> None:
    f = firing_of([series(998.0, 999.0, 1000.0, 1001.0)], START, now=1001.5, evaluation=1.0)
    assert f.already and f.fired_at is None


def test_an_old_firing_that_ended_before_the_fault_does_not_count() -> None:
    f = firing_of([series(900.0, 901.0, 1010.0)], START, now=1010.5, evaluation=1.0)
    assert f.fired_at == 1010.0 and not f.already


def test_earliest_series_wins_and_its_labels_are_kept() -> None:
    f = firing_of([series(1020.0, service="a"), series(1011.0, service="b")], START, 1021.0, 1.0)
    assert f.fired_at == 1011.0 and f.labels["service"] == "b"


def test_no_samples_no_firing() -> None:
    assert firing_of([], START, 1100.0, 1.0).fired_at is None


def note(at: float, receiver: str, status: str, **labels: str) -> Notification:
    alert = NotifiedAlert("A", status, {"alertname": "A", **labels}, {}, None, None, "fp")
    return Notification(at, receiver, status, "{}", (alert,))


def test_notification_of_matches_name_labels_status_and_time() -> None:
    notes = [
        note(990.0, "page", "firing", service="gateway"),  # before the fault
        note(1030.0, "page", "firing", service="orders"),
        note(1020.0, "page", "firing", service="gateway"),
        note(1080.0, "page", "resolved", service="gateway"),
    ]
    got = notification_of(notes, "A", {"service": "gateway"}, START)
    assert got is not None and got.received_at == 1020.0
    gone = notification_of(notes, "A", {"service": "gateway"}, 1020.0, "resolved")
    assert gone is not None and gone.received_at == 1080.0
    assert notification_of(notes, "B", {}, START) is None


def test_proof_times_and_slack() -> None:
    floor = Floor(10.0, 12.0, (("crossing", 8.0),), "")
    proof = AlertProof("A", {}, "ALERTS{}", "http://r", START, 1050.0, floor, 1.0, "load")
    proof.fired_at, proof.notified_at, proof.resolved_at = 1011.5, 1013.0, 1070.0
    proof.notified_receiver = "page"
    assert (proof.time_to_fire, proof.time_to_notify, proof.time_to_resolve) == (11.5, 13.0, 20.0)
    assert proof.slack == (1.5, 1.0)
    assert proof.ok and "reached page at 13.0s" in proof.summary()
    assert proof.to_json()["floor_fire"] == 10.0
    proof.problems.append("did not resolve")
    assert not proof.ok and proof.summary().endswith("did not resolve")
