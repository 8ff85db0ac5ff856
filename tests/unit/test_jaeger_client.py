"""The Jaeger query client: answers recorded from a real Jaeger v2 (tests/data/jaeger/)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from harness.clients.jaeger import JaegerClient, JaegerError, TraceNotFound, parse_trace

DATA = Path(__file__).resolve().parents[1] / "data" / "jaeger"
LATENCY_TRACE = "8cee5baefbab70fc022f2f35b5dbc039"


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def jaeger_serving(files: dict[str, str], seen: list[httpx.Request] | None = None) -> JaegerClient:
    """A client whose Jaeger answers each trace id with its recorded file, else 404."""

    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        trace_id = request.url.path.rsplit("/", 1)[-1]
        if trace_id in files:
            return httpx.Response(200, json=recorded(files[trace_id]))
        return httpx.Response(404, json=recorded("not-found.json"))

    return JaegerClient("http://127.0.0.1:1", transport=httpx.MockTransport(answer))


def test_a_recorded_trace_parses_into_spans_with_their_replicas():
    trace = parse_trace(recorded("latency-300ms-gateway_orders-2.json"))
    assert trace.trace_id == LATENCY_TRACE
    by_id = {s.span_id: s for s in trace.spans}
    client = by_id["aceb1f6b7f74d781"]
    assert (client.kind, client.service, client.instance) == ("client", "gateway", "gateway-1")
    assert client.parent_id == "f522699de52aeba8"
    assert client.tags["http.url"] == "http://127.0.0.1:21352/orders"
    assert client.duration == 307528 and client.end == client.start + 307528
    server = by_id["1b3606d7d7fbca36"]
    assert (server.kind, server.instance, server.operation) == (
        "server",
        "orders-2",
        "POST /orders",
    )
    assert not any(s.error for s in trace.spans)


def test_failed_calls_are_marked_as_errors():
    trace = parse_trace(recorded("orders-refused-503.json"))
    failed = [s for s in trace.spans if s.error]
    assert {s.kind for s in failed} == {"client", "server"}
    assert len([s for s in failed if s.kind == "client"]) == 3


def test_trace_by_id_asks_the_v2_query_api():
    seen: list[httpx.Request] = []
    with jaeger_serving({LATENCY_TRACE: "latency-300ms-gateway_orders-2.json"}, seen) as jaeger:
        trace = jaeger.trace(LATENCY_TRACE.upper())
    assert seen[0].url.path == f"/api/traces/{LATENCY_TRACE}"
    assert len(trace.spans) == 5


def test_a_trace_jaeger_does_not_hold_is_trace_not_found():
    with jaeger_serving({}) as jaeger, pytest.raises(TraceNotFound, match="trace not found"):
        jaeger.trace("0123456789abcdef0123456789abcdef")


def test_a_bad_trace_id_is_refused_before_any_request():
    seen: list[httpx.Request] = []
    with jaeger_serving({}, seen) as jaeger, pytest.raises(JaegerError, match="not a trace id"):
        jaeger.trace("../api/services")
    assert seen == []


def test_unreachable_jaeger_is_a_clear_error_with_no_status():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    jaeger = JaegerClient("http://127.0.0.1:1", transport=httpx.MockTransport(refuse))
    with pytest.raises(JaegerError, match="did not answer GET /api/traces/ab") as exc:
        jaeger.trace("ab")
    assert exc.value.status is None


def test_an_error_status_or_a_non_trace_answer_is_an_error():
    def answer(request: httpx.Request) -> httpx.Response:
        if "bad" in request.url.path:
            return httpx.Response(200, json={"data": [{"spans": "?"}]})
        return httpx.Response(500, text="boom")

    jaeger = JaegerClient("http://127.0.0.1:1", transport=httpx.MockTransport(answer))
    with pytest.raises(JaegerError, match="500 boom") as exc:
        jaeger.trace("ab")
    assert exc.value.status == 500
    with pytest.raises(JaegerError, match="malformed trace"):
        jaeger.trace("bad")


def test_every_call_has_a_timeout():
    jaeger = JaegerClient("http://127.0.0.1:1", timeout=1.5)
    assert jaeger._http.timeout.read == 1.5
    assert jaeger.ui_url("AB") == "http://127.0.0.1:1/trace/ab"
