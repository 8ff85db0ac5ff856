"""Traced load: every request starts its own W3C trace and keeps its id; the shop's
services export their spans over OTLP/HTTP when told where."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from harness.load.generator import Route, monotonic_offset, new_traceparent, run_load
from sample_app.observability.tracing import make_tracer_provider

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")


def _load(routes: list[Route], answer) -> tuple[list[httpx.Request], list]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    result = asyncio.run(
        run_load("http://127.0.0.1:1", 100, 0.1, routes, transport=httpx.MockTransport(handler))
    )
    return seen, result.records


def test_every_request_carries_a_fresh_sampled_traceparent_and_its_record_the_id():
    seen, records = _load([Route("GET", "/p")], lambda r: httpx.Response(200))
    assert len(seen) == len(records) == 10
    parts = [TRACEPARENT.match(r.headers["traceparent"]) for r in seen]
    assert all(parts)
    trace_ids = [m.group(1) for m in parts if m]
    assert len(set(trace_ids)) == 10 and len({m.group(2) for m in parts if m}) == 10
    assert sorted(r.trace_id for r in records) == sorted(trace_ids)


def test_a_failed_request_keeps_its_trace_id_and_a_routes_own_traceparent_is_kept():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    _, failed = _load([Route("GET", "/p")], refuse)
    assert all(r.status == 0 and r.trace_id and len(r.trace_id) == 32 for r in failed)
    own = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    seen, records = _load(
        [Route("GET", "/p", headers={"traceparent": own})], lambda r: httpx.Response(200)
    )
    assert {r.headers["traceparent"] for r in seen} == {own}
    assert {r.trace_id for r in records} == {"4bf92f3577b34da6a3ce929d0e0e4736"}


def test_new_traceparent_is_valid_w3c():
    header, trace_id = new_traceparent()
    match = TRACEPARENT.match(header)
    assert match and match.group(1) == trace_id and int(trace_id, 16) and int(match.group(2), 16)


class _Collector(BaseHTTPRequestHandler):
    posts: list[tuple[str, str, int]] = []

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        length = int(self.headers["Content-Length"])
        self.rfile.read(length)
        self.posts.append((self.path, self.headers["Content-Type"], length))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_apps_export_spans_over_otlp_http_when_an_endpoint_is_set(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        provider = make_tracer_provider("gateway", "gateway-1")
        with provider.get_tracer("t").start_as_current_span("one"):
            pass
        assert provider.force_flush(5000)
        provider.shutdown()
    finally:
        server.shutdown()
    assert _Collector.posts and _Collector.posts[0][:2] == ("/v1/traces", "application/x-protobuf")


def test_without_an_endpoint_nothing_is_exported(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    provider = make_tracer_provider("gateway", "gateway-1")
    assert provider._active_span_processor._span_processors == ()


def test_a_records_due_time_maps_to_the_wall_clock_by_the_results_offset():
    before = time.time()
    result = asyncio.run(
        run_load(
            "http://127.0.0.1:1",
            100,
            0.1,
            [Route("GET", "/p")],
            transport=httpx.MockTransport(lambda r: httpx.Response(200)),
        )
    )
    first = min(r.scheduled for r in result.records)
    assert abs(first + result.offset - result.started) < 0.005  # the first was due at once
    assert before - 0.005 <= result.started <= time.time()
    assert abs(monotonic_offset() - result.offset) < 0.05
