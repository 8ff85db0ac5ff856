"""ReceiverClient against an in-memory transport: parsing, Alertmanager's zero time, errors."""

from __future__ import annotations

import httpx
import pytest

from harness.clients.receiver import (
    Notification,
    NotifiedAlert,
    ReceiverClient,
    ReceiverError,
    parse_time,
)
from harness.errors import HarnessError

RECORDED = {
    "received_at": 1714979290.5,
    "receiver": "ticket",
    "version": "4",
    "status": "resolved",
    "groupKey": '{}/{severity="ticket"}:{alertname="ReplicaDown"}',
    "alerts": [
        {
            "status": "resolved",
            "labels": {"alertname": "ReplicaDown", "severity": "ticket", "replica": "orders-2"},
            "annotations": {"summary": "orders-2 cannot be scraped"},
            "startsAt": "2024-05-06T07:08:09.123456789Z",
            "endsAt": "2024-05-06T09:08:10+02:00",
            "fingerprint": "a1b2",
        }
    ],
}


def client_for(handler) -> ReceiverClient:
    return ReceiverClient("http://receiver:1/", transport=httpx.MockTransport(handler))


def test_notifications_are_typed_with_unix_times():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[RECORDED])

    with client_for(handler) as client:
        [note] = client.notifications()
    assert seen[0].url.path == "/notifications"
    assert "since" not in seen[0].url.params
    assert note == Notification(
        received_at=1714979290.5,
        receiver="ticket",
        status="resolved",
        group_key='{}/{severity="ticket"}:{alertname="ReplicaDown"}',
        alerts=(
            NotifiedAlert(
                alertname="ReplicaDown",
                status="resolved",
                labels={"alertname": "ReplicaDown", "severity": "ticket", "replica": "orders-2"},
                annotations={"summary": "orders-2 cannot be scraped"},
                starts_at=pytest.approx(1714979289.123457),
                ends_at=1714979290.0,
                fingerprint="a1b2",
            ),
        ),
    )


def test_since_is_passed_as_unix_seconds():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    with client_for(handler) as client:
        assert client.notifications(since=1714979290.25) == []
        client.notifications(since=5)
    assert [r.url.params["since"] for r in seen] == ["1714979290.25", "5.0"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0001-01-01T00:00:00Z", None),  # Alertmanager's endsAt of a firing alert
        ("", None),
        (None, None),
        ("1970-01-01T00:00:01Z", 1.0),
        ("1970-01-01T01:00:01.5+01:00", 1.5),
        ("2024-05-06T07:08:09.000000001Z", 1714979289.0),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_a_time_without_zone_is_not_rfc3339():
    with pytest.raises(ValueError, match="time zone"):
        parse_time("2024-05-06T07:08:09")


def test_a_firing_alert_has_no_end():
    alert = {**RECORDED["alerts"][0], "status": "firing", "endsAt": "0001-01-01T00:00:00Z"}
    body = [{**RECORDED, "status": "firing", "alerts": [alert]}]
    with client_for(lambda _r: httpx.Response(200, json=body)) as client:
        [note] = client.notifications()
    assert note.alerts[0].ends_at is None
    assert note.alerts[0].status == "firing"


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(500, text="boom"), "500 boom"),
        (httpx.Response(400, json={"error": "since='x'"}), "400"),
        (httpx.Response(200, text="<html>"), "not JSON"),
        (httpx.Response(200, json={"not": "a list"}), "expected a list"),
        (httpx.Response(200, json=[{"receiver": "page"}]), "malformed"),
        (httpx.Response(200, json=[{**RECORDED, "alerts": [{"startsAt": "soon"}]}]), "malformed"),
    ],
)
def test_bad_answers_raise_receiver_error(response, message):
    with client_for(lambda _r: response) as client, pytest.raises(ReceiverError, match=message):
        client.notifications()


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
def test_an_unreachable_receiver_raises_receiver_error(exc):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    with client_for(handler) as client:
        with pytest.raises(ReceiverError, match="did not answer") as info:
            client.notifications()
        assert not client.ready()
    assert isinstance(info.value, HarnessError)


def test_every_call_is_bounded_by_the_timeout():
    client = ReceiverClient("http://127.0.0.1:1", timeout=0.75)
    assert client._http.timeout == httpx.Timeout(0.75)
    client.close()
