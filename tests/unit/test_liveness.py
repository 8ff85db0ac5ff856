"""Liveness as the supervisor judges it: N failed probes in a row after the replica has
answered once, and what one probe says (httpx.MockTransport, no sockets)."""

from __future__ import annotations

import httpx
import pytest

from harness.runtime.local.liveness import LiveCheck, LiveProbe, probe, probe_client

URL = "http://127.0.0.1:21901/live"


def _check(failures: int = 3, period: float = 2.0) -> LiveCheck:
    return LiveCheck(LiveProbe(URL, period, failures), now=100.0)


def test_a_replica_is_condemned_after_n_failures_in_a_row():
    check = _check()
    assert check.record(None) is None  # it answered: judged from now on
    assert check.record("answered HTTP 500") is None
    assert check.record("did not answer within 1s") is None
    verdict = check.record("did not answer within 1s")
    assert verdict == (
        f"liveness failed: {URL} did not answer within 1s (3 probes in a row, 2s apart)"
    )


def test_one_answer_in_between_starts_the_count_again():
    check = _check(failures=2)
    check.record(None)
    assert check.record("answered HTTP 503") is None
    assert check.record(None) is None
    assert check.record("answered HTTP 503") is None
    assert check.record("answered HTTP 503") is not None


def test_a_replica_that_never_answered_is_still_starting_not_dead():
    check = _check(failures=1)
    for _ in range(10):
        assert check.record("failed: ConnectError: refused") is None
    check.restarted(now=200.0)
    check.record(None)
    assert check.record("failed: ConnectError: refused") is not None
    check.restarted(now=300.0)  # a new process owes nothing for its predecessor
    assert check.record("failed: ConnectError: refused") is None


def test_probes_are_due_a_period_apart_from_their_start():
    check = _check(period=2.0)
    assert not check.due(101.0)  # a period after the (re)start
    assert check.due(102.0)
    check.begin(102.0)
    assert not check.due(103.9)
    assert check.due(104.0)


def _client(handler) -> httpx.Client:
    return probe_client(httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, None), (204, None), (302, None), (404, "answered HTTP 404"), (500, "answered HTTP 500")],
)
def test_a_probe_passes_on_2xx_and_3xx_like_a_kubelets(status, expected):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(status, headers={"location": "/elsewhere"})

    with _client(handler) as client:
        assert probe(client, URL) == expected
    assert seen == [URL]  # a redirect is an answer, not followed


def test_a_probe_says_what_went_wrong_when_nothing_answers():
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with _client(timeout) as client:
        assert probe(client, URL) == "did not answer within 1s"
    with _client(refused) as client:
        assert probe(client, URL) == "failed: ConnectError: [Errno 111] Connection refused"
